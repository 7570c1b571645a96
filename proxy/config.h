/* Configuration: one table of settings, each readable from the config file,
 * the environment and `--set`, applied in that order over built-in defaults. */
#ifndef OMCP_CONFIG_H
#define OMCP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum recycle_mode {
    RECYCLE_CONTAINER, /* a released slot's container is removed, a fresh one started */
    RECYCLE_PROCESS,   /* the container is kept, its processes killed, workspace wiped */
};

#define CONFIG_MAX_SETTINGS 64

struct listen_list {
    char **addrs; /* "HOST:PORT" or "unix:PATH" */
    int count;
};

struct config {
    /* pool */
    int64_t pool_min_idle;
    int64_t max_sandboxes;
    int64_t pool_max_starting;
    double pool_acquire_timeout;
    double pool_max_slot_age;
    enum recycle_mode pool_recycle;
    double sandbox_timeout;
    double interrupt_grace;

    /* sandbox containers */
    char *docker_host;
    char *docker_image;
    int64_t sandbox_uid;
    int64_t sandbox_memory;
    double sandbox_cpus;
    double sandbox_start_cpus;
    int64_t sandbox_pids_limit;
    int64_t sandbox_tmp_size;
    int64_t workspace_size;

    /* limits of one call */
    double default_exec_timeout;
    int64_t max_output_bytes;
    int64_t max_code_chars;
    int64_t max_file_read_bytes;
    int64_t max_file_write_bytes;
    int64_t max_frame_bytes;

    /* places */
    char *state_dir;
    char *workspace_root;
    char *cdm_dir;
    char *cdm_default;

    /* the PostgreSQL CDM cluster: its socket directory and port reach the
     * sandboxes, the loader's role, password and database never do */
    char *db_host;
    int64_t db_port;
    char *db_user;
    char *db_password;
    char *db_name;
    char *db_sandbox_user; /* the read-only role sandboxes connect as */

    /* front ends */
    char *http_listen;
    char *http_allowed_origins; /* comma-separated; empty: loopback origins only */
    char *http_tokens;          /* comma-separated TOKEN or NAME:TOKEN */
    char *http_tokens_file;     /* one TOKEN or NAME:TOKEN per line */
    int64_t http_max_connections;
    double http_header_timeout;
    double http_body_timeout;
    double http_idle_timeout;
    double http_session_timeout;
    int64_t http_max_sessions_per_identity;
    double http_rate_limit;
    int64_t http_rate_burst;
    double http_drain_timeout;
    struct listen_list qap_listen;
    bool qap_allow_remote;      /* a listener without authentication may be non-loopback */
    int64_t qap_max_clients;    /* QAP1 connections at once */
    double qap_idle_timeout;    /* a silent QAP1 client is disconnected after this */
    double qap_request_timeout; /* a QAP1 request is interrupted after this; 0: never */
    char *qap_password_file;    /* empty: no authentication */
    bool stdio;

    /* logging */
    int log_level; /* enum log_level */
    char *log_file;

    unsigned char source[CONFIG_MAX_SETTINGS]; /* enum config_source, per setting */
};

enum config_source {
    SRC_DEFAULT,
    SRC_FILE,
    SRC_ENV,
    SRC_CLI,
};

/* Problems found while reading settings; each names the setting. */
struct config_errors {
    char **lines;
    int count;
};

void config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Each returns false when it recorded an error in errs. Unknown keys in the
 * file or in --set are errors; unknown environment variables are not ours. */
bool config_load_file(struct config *cfg, const char *path, struct config_errors *errs);
void config_load_env(struct config *cfg, struct config_errors *errs);
bool config_set(struct config *cfg, const char *key, const char *value, enum config_source src,
                struct config_errors *errs);
/* Fills derived defaults and checks settings against each other. */
void config_finish(struct config *cfg, struct config_errors *errs);

/* Prints KEY=VALUE lines with their source, secrets masked. */
void config_print(const struct config *cfg, FILE *out);
/* Logs the effective configuration, one line per setting, secrets masked. */
void config_log(const struct config *cfg);

/* Fits the client caps of the front ends that listen (HTTP_MAX_CONNECTIONS,
 * QAP_MAX_CLIENTS) into room descriptors: caps that fit stay; otherwise
 * room is split in proportion to them, at least one each. True when a cap
 * was lowered. */
bool config_fit_clients(struct config *cfg, uint64_t room);
/* Prints the settings table (name, default, description) for --help. */
void config_print_help(FILE *out);

void config_errors_free(struct config_errors *errs);

#endif
