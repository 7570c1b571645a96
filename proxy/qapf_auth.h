/* Password login for QAP1 clients: a file of USER:HASH lines, each hash a
 * crypt(3) string with its own salt (yescrypt "$y$", SHA-512 "$6$"). A
 * salted hash can only check a password sent in the clear, so the proxy
 * offers plain login (ARpt), and only on loopback and unix listeners. */
#ifndef OMCP_QAPF_AUTH_H
#define OMCP_QAPF_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qapf_auth;

/* Reads the file; NULL with a reason in *err (unreadable, a line that is
 * not USER:$id$..., no user at all). */
struct qapf_auth *qapf_auth_load(const char *path, const char **err);
void qapf_auth_free(struct qapf_auth *a);
unsigned qapf_auth_users(const struct qapf_auth *a);

/* Checks a CMD_login payload (one DT_STRING "user\npassword"). On success
 * copies the user name to user (n bytes); the password is wiped from the
 * payload either way. */
bool qapf_auth_check(const struct qapf_auth *a, uint8_t *payload, size_t len, char *user, size_t n);

#endif
