/* Unit tests of the settings table: precedence, parsing, errors, masking. */
#include "proxy/config.h"
#include "proxy/log.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <unistd.h>

static void test_defaults(void)
{
    struct config cfg;
    struct config_errors errs = {0};

    config_init(&cfg);
    config_finish(&cfg, &errs);
    CHECK_INT(errs.count, 0);
    CHECK_INT(cfg.max_sandboxes, 10);
    CHECK_INT(cfg.pool_min_idle, 4);
    CHECK_INT(cfg.sandbox_memory, 512LL * 1024 * 1024);
    CHECK_INT(cfg.max_output_bytes, 100000);
    CHECK_INT(cfg.pool_recycle, RECYCLE_CONTAINER);
    CHECK_STR(cfg.docker_image, "omcp-r-sandbox:latest");
    CHECK_INT(cfg.qap_listen.count, 1);
    CHECK_STR(cfg.qap_listen.addrs[0], "127.0.0.1:6311");
    config_free(&cfg);
    config_errors_free(&errs);
}

static void test_precedence(void)
{
    char path[] = "/tmp/omcp-config-XXXXXX";
    int fd = mkstemp(path);
    struct config cfg;
    struct config_errors errs = {0};
    const char *text = "# comment\n[pool]\nmax_sandboxes = 20\npool_min_idle = 2\n"
                       "sandbox_timeout = 60\n";

    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);

    setenv("MAX_SANDBOXES", "30", 1);
    config_init(&cfg);
    CHECK(config_load_file(&cfg, path, &errs));
    CHECK_INT(cfg.max_sandboxes, 20);
    config_load_env(&cfg, &errs);
    CHECK_INT(cfg.max_sandboxes, 30);
    CHECK(config_set(&cfg, "max_sandboxes", "40", SRC_CLI, &errs));
    CHECK_INT(cfg.max_sandboxes, 40);
    CHECK_INT(cfg.pool_min_idle, 2);
    CHECK(cfg.sandbox_timeout == 60.0);
    config_finish(&cfg, &errs);
    CHECK_INT(errs.count, 0);

    unsetenv("MAX_SANDBOXES");
    unlink(path);
    config_free(&cfg);
    config_errors_free(&errs);
}

static void test_errors_name_the_setting(void)
{
    struct config cfg;
    struct config_errors errs = {0};

    config_init(&cfg);
    CHECK(!config_set(&cfg, "MAX_SANDBOXES", "-3", SRC_ENV, &errs));
    CHECK(!config_set(&cfg, "POOL_RECYCLE", "sometimes", SRC_CLI, &errs));
    CHECK(!config_set(&cfg, "NO_SUCH_KEY", "1", SRC_CLI, &errs));
    CHECK(!config_set(&cfg, "QAP_LISTEN", "127.0.0.1:99999", SRC_CLI, &errs));
    CHECK(!config_set(&cfg, "SANDBOX_MEMORY", "12q", SRC_CLI, &errs));
    CHECK_INT(errs.count, 5);
    CHECK(errs.count == 5 && strstr(errs.lines[0], "MAX_SANDBOXES") != NULL);
    CHECK(errs.count == 5 && strstr(errs.lines[1], "POOL_RECYCLE") != NULL);
    CHECK(errs.count == 5 && strstr(errs.lines[2], "NO_SUCH_KEY") != NULL);
    CHECK(errs.count == 5 && strstr(errs.lines[3], "QAP_LISTEN") != NULL);
    CHECK_INT(cfg.max_sandboxes, 10); /* a bad value leaves the old one */
    config_free(&cfg);
    config_errors_free(&errs);
}

static void test_cross_checks(void)
{
    struct config cfg;
    struct config_errors errs = {0};

    config_init(&cfg);
    CHECK(config_set(&cfg, "POOL_MIN_IDLE", "12", SRC_CLI, &errs));
    CHECK(config_set(&cfg, "DOCKER_HOST", "tcp://10.0.0.1:2375", SRC_CLI, &errs));
    config_finish(&cfg, &errs);
    CHECK_INT(errs.count, 2);
    config_free(&cfg);
    config_errors_free(&errs);
}

static void test_sizes_and_lists(void)
{
    struct config cfg;
    struct config_errors errs = {0};

    config_init(&cfg);
    CHECK(config_set(&cfg, "WORKSPACE_SIZE", "2g", SRC_CLI, &errs));
    CHECK_INT(cfg.workspace_size, 2LL << 30);
    CHECK(config_set(&cfg, "SANDBOX_MEMORY", "768MB", SRC_CLI, &errs));
    CHECK_INT(cfg.sandbox_memory, 768LL << 20);
    CHECK(config_set(&cfg, "QAP_LISTEN", "unix:/run/a.sock, [::1]:6312", SRC_CLI, &errs));
    CHECK_INT(cfg.qap_listen.count, 2);
    CHECK_STR(cfg.qap_listen.addrs[1], "[::1]:6312");
    CHECK(config_set(&cfg, "QAP_LISTEN", "", SRC_CLI, &errs));
    CHECK_INT(cfg.qap_listen.count, 0);
    CHECK(config_set(&cfg, "STDIO", "yes", SRC_CLI, &errs));
    CHECK(cfg.stdio);
    CHECK(config_set(&cfg, "LOG_LEVEL", "DEBUG", SRC_CLI, &errs));
    CHECK_INT(cfg.log_level, L_DEBUG);
    CHECK_INT(errs.count, 0);
    config_free(&cfg);
    config_errors_free(&errs);
}

static void test_secret_masked(void)
{
    struct config cfg;
    struct config_errors errs = {0};
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    config_init(&cfg);
    CHECK(config_set(&cfg, "DB_PASSWORD", "hunter2-secret", SRC_CLI, &errs));
    config_finish(&cfg, &errs);
    config_print(&cfg, out);
    fclose(out);
    CHECK(strstr(text, "hunter2-secret") == NULL);
    CHECK(strstr(text, "DB_PASSWORD=***") != NULL);
    free(text);
    config_free(&cfg);
    config_errors_free(&errs);
}

/* The client caps shrink to the descriptors left beyond the daemon's
 * reserve, shared between the front ends that listen. */
static void test_fit_clients(void)
{
    struct config cfg;
    struct config_errors errs = {0};

    config_init(&cfg);
    config_finish(&cfg, &errs);
    CHECK(!config_fit_clients(&cfg, 65536 - 400)); /* defaults fit LimitNOFILE=65536 */
    CHECK_INT(cfg.http_max_connections, 4096);
    CHECK_INT(cfg.qap_max_clients, 1000);

    CHECK(config_fit_clients(&cfg, 1024 - 400)); /* ulimit -n 1024, 10 slots */
    CHECK_INT(cfg.http_max_connections, 501);
    CHECK_INT(cfg.qap_max_clients, 123);
    CHECK(cfg.http_max_connections + cfg.qap_max_clients <= 624);

    CHECK(config_fit_clients(&cfg, 0)); /* no room: one each still listens */
    CHECK_INT(cfg.http_max_connections, 1);
    CHECK_INT(cfg.qap_max_clients, 1);

    CHECK(config_set(&cfg, "QAP_LISTEN", "", SRC_CLI, &errs));
    CHECK(config_set(&cfg, "HTTP_MAX_CONNECTIONS", "4096", SRC_CLI, &errs));
    CHECK(config_set(&cfg, "QAP_MAX_CLIENTS", "1000", SRC_CLI, &errs));
    CHECK(config_fit_clients(&cfg, 160)); /* HTTP alone gets all of it */
    CHECK_INT(cfg.http_max_connections, 160);
    CHECK_INT(cfg.qap_max_clients, 1000);
    CHECK_INT(errs.count, 0);
    config_free(&cfg);
    config_errors_free(&errs);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_precedence);
    RUN(test_errors_name_the_setting);
    RUN(test_cross_checks);
    RUN(test_sizes_and_lists);
    RUN(test_secret_masked);
    RUN(test_fit_clients);
    return check_report();
}
