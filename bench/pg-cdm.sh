#!/usr/bin/env bash
# The PostgreSQL CDM cluster: a PostgreSQL cluster of its own that listens
# on one unix socket directory only (no TCP), and the CDMs in it. Run as
# root; the server runs as the postgres account.
#
#   pg-cdm.sh init                 create the cluster once, configure and start it
#   pg-cdm.sh start | stop | status
#   pg-cdm.sh load NAME FILE.sqlite
#                                  copy an SQLite CDM (omcp-cdmgen, omcp-cdmload) into
#                                  the database NAME with COPY, build its keys and
#                                  indexes, grant the read-only role, and write
#                                  CDM_DIR/NAME.pg, which makes the daemon serve it
#   pg-cdm.sh drop NAME            remove the database and CDM_DIR/NAME.pg
#   pg-cdm.sh psql DB [ARGS...]    psql on DB as the cluster owner (administration)
#
# Environment (defaults in brackets):
#   PG_CDM_DIR       the cluster's directory: data/, socket/, log [/var/lib/omcp-rproxy/cdm-pg]
#   DB_PORT          port number in the socket's name [5432]
#   CDM_DIR          where NAME.pg descriptions go [/var/lib/omcp-rproxy/cdm]
#   DB_SANDBOX_USER  read-only role the sandboxes connect as [omcp_cdm_reader]
#   SANDBOX_USER     host account of the sandbox uid, mapped to it [omcp-sandbox]
#   DB_USER          loader role that owns the CDM databases [omcp_cdm_loader]
#   DB_PASSWORD      when set at init, the loader role may also log in with it
#                    (scram-sha-256); otherwise only root and postgres reach it (peer)
#   PG_MAX_CONNECTIONS  connections the server accepts, set at init [100]; every warm
#                    slot holds one
#
# The daemon then runs with DB_HOST=$PG_CDM_DIR/socket and the same DB_PORT
# and DB_SANDBOX_USER; it mounts the socket directory read-only into every
# sandbox and never holds a password.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
omop=$here/omop
cluster=${PG_CDM_DIR:-/var/lib/omcp-rproxy/cdm-pg}
port=${DB_PORT:-5432}
cdm_dir=${CDM_DIR:-/var/lib/omcp-rproxy/cdm}
reader=${DB_SANDBOX_USER:-omcp_cdm_reader}
sandbox_user=${SANDBOX_USER:-omcp-sandbox}
loader=${DB_USER:-omcp_cdm_loader}
max_connections=${PG_MAX_CONNECTIONS:-100}
data=$cluster/data
socket=$cluster/socket
marker='omcp-rproxy CDM'

die() {
    echo "pg-cdm: $*" >&2
    exit 1
}

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

# The server programs: PostgreSQL 15 where several versions are installed.
pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [ -x "$dir/$1" ] && {
            echo "$dir/$1"
            return
        }
    done
    command -v "$1" || die "no $1: install Debian's postgresql"
}

as_postgres() { runuser -u postgres -- "$@"; }

# psql as the cluster owner on database $1, stopping at the first error.
pg() {
    local db=$1
    shift
    as_postgres env PGOPTIONS="-c client_min_messages=warning" \
        psql -h "$socket" -p "$port" -d "$db" -X -q -v ON_ERROR_STOP=1 "$@"
}

pg_value() { pg "$1" -At -c "$2"; }

# Seconds since $1 (microseconds since the epoch), to the hundredth.
since() {
    local us=$((${EPOCHREALTIME/./} - $1))
    printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000))
}

role_ok() { [[ $1 =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "not a plain role name: $1"; }

check_setup() {
    [ "$(id -u)" -eq 0 ] ||
        die "run as root: the server runs as postgres, set-up maps host accounts"
    id postgres >/dev/null 2>&1 || die "no postgres account: install Debian's postgresql"
    role_ok "$reader"
    role_ok "$loader"
    [[ $port =~ ^[0-9]+$ ]] || die "DB_PORT is not a number: $port"
    [[ $max_connections =~ ^[0-9]+$ ]] || die "PG_MAX_CONNECTIONS is not a number"
}

running() {
    [ -f "$data/postmaster.pid" ] && as_postgres "$(pg_bin pg_ctl)" -D "$data" status >/dev/null
}

# Settings of the cluster: the socket directory only, nothing on TCP.
write_conf() {
    cat >"$data/postgresql.omcp.conf" <<EOF
# Written by bench/pg-cdm.sh: unix socket only, in a directory of its own.
listen_addresses = ''
port = $port
unix_socket_directories = '$socket'
unix_socket_permissions = 0777
max_connections = $max_connections
password_encryption = 'scram-sha-256'
EOF
    grep -q "^include_if_exists 'postgresql.omcp.conf'" "$data/postgresql.conf" ||
        echo "include_if_exists 'postgresql.omcp.conf'" >>"$data/postgresql.conf"
    cat >"$data/pg_ident.conf" <<EOF
# Written by bench/pg-cdm.sh. MAP  HOST-ACCOUNT  ROLE
sandbox  $sandbox_user  $reader
loader   root           $loader
loader   postgres       $loader
EOF
    chown postgres:postgres "$data/postgresql.omcp.conf" "$data/pg_ident.conf"
}

# The CDM databases: those the loader finished and marked.
cdm_databases() {
    pg_value postgres "SELECT string_agg(d.datname, ',' ORDER BY d.datname) FROM pg_database d
        JOIN pg_shdescription s ON s.objoid = d.oid AND s.classoid = 'pg_database'::regclass
        WHERE s.description = '$marker'"
}

# Who may connect to what: the sandbox account, as the read-only role, only
# to the CDM databases; the loader with its password when it has one, else
# by peer from root and postgres; everything else is refused. Rewritten
# whenever the CDM databases change.
write_hba() {
    local dbs=$1 loader_auth="peer map=loader"
    [ "$2" = t ] && loader_auth=scram-sha-256
    {
        echo "# Written by bench/pg-cdm.sh; rewritten on every load and drop."
        echo "local  all  postgres  peer"
        [ -n "$dbs" ] && echo "local  $dbs  $reader  peer map=sandbox"
        echo "local  all  $reader  reject"
        echo "local  all  $loader  $loader_auth"
        echo "local  all  all  reject"
    } >"$data/pg_hba.conf"
    chown postgres:postgres "$data/pg_hba.conf"
}

reload_hba() {
    local has_password
    has_password=$(pg_value postgres \
        "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '$loader'")
    write_hba "$(cdm_databases)" "$has_password"
    pg_value postgres "SELECT pg_reload_conf()" >/dev/null
}

cmd_start() {
    [ -d "$data" ] || die "no cluster in $cluster; run: $0 init"
    install -d -o postgres -g postgres -m 0755 "$socket"
    [ -f "$cluster/log" ] || install -o postgres -g postgres -m 0640 /dev/null "$cluster/log"
    running && return 0
    as_postgres "$(pg_bin pg_ctl)" -D "$data" -l "$cluster/log" -w -t 120 start >/dev/null
    echo "pg-cdm: cluster running, socket $socket/.s.PGSQL.$port"
}

cmd_stop() {
    running || return 0
    as_postgres "$(pg_bin pg_ctl)" -D "$data" -m fast -w -t 120 stop >/dev/null
    echo "pg-cdm: cluster stopped"
}

# The roles: the loader owns the CDMs; the reader may log in and nothing
# else (what it may read is granted per database by the load).
create_roles() {
    pg postgres -v reader="$reader" -v loader="$loader" <<'EOF'
SELECT format('CREATE ROLE %I', :'reader') WHERE NOT EXISTS
    (SELECT FROM pg_roles WHERE rolname = :'reader') \gexec
SELECT format('CREATE ROLE %I', :'loader') WHERE NOT EXISTS
    (SELECT FROM pg_roles WHERE rolname = :'loader') \gexec
ALTER ROLE :"reader" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    NOINHERIT PASSWORD NULL;
ALTER ROLE :"loader" LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
REVOKE ALL ON DATABASE template1 FROM PUBLIC;
EOF
    # On standard input, so the password is on no command line; the server
    # keeps only its SCRAM verifier.
    local quoted=${DB_PASSWORD:-}
    quoted=${quoted//"'"/"''"}
    [ -z "$quoted" ] || pg postgres <<<"ALTER ROLE \"$loader\" PASSWORD '$quoted';"
}

cmd_init() {
    install -d -m 0755 "$cluster"
    as_postgres test -x "$cluster" ||
        die "postgres cannot reach $cluster (a parent directory is not searchable)"
    if [ ! -d "$data" ]; then
        install -d -o postgres -g postgres -m 0700 "$data"
        as_postgres "$(pg_bin initdb)" -D "$data" -U postgres -A reject -E UTF8 --locale=C.UTF-8 \
            --lc-collate=C >/dev/null
    fi
    write_conf
    write_hba "" f
    cmd_start
    create_roles
    reload_hba
    echo "pg-cdm: daemon settings: DB_HOST=$socket DB_PORT=$port DB_SANDBOX_USER=$reader"
}

# The CDM version of an SQLite CDM: 5.3 has cohort_attribute, 5.4 episode.
has_table() {
    [ -n "$(sqlite3 -readonly "$1" "SELECT name FROM sqlite_master WHERE name = '$2'")" ]
}

cdm_version() {
    if has_table "$1" episode; then
        echo 54
    elif has_table "$1" cohort_attribute; then
        echo 53
    else
        die "$1: neither a CDM 5.4 nor a 5.3 (no episode or cohort_attribute table)"
    fi
}

# Streams every table that has rows from SQLite into PostgreSQL with COPY.
copy_tables() {
    local file=$1 db=$2 table columns t0
    for table in $(sqlite3 -readonly "$file" "SELECT name FROM sqlite_master
            WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1"); do
        [ -n "$(sqlite3 -readonly "$file" "SELECT 1 FROM \"$table\" LIMIT 1")" ] || continue
        columns=$(sqlite3 -readonly "$file" \
            "SELECT group_concat('\"' || name || '\"', ',') FROM pragma_table_info('$table')")
        t0=${EPOCHREALTIME/./}
        sqlite3 -readonly -csv "$file" "SELECT * FROM \"$table\"" |
            pg "$db" -c "SET ROLE $loader" \
                -c "\\copy \"$table\" ($columns) FROM pstdin WITH (FORMAT csv)"
        printf '%-24s %s s\n' "$table" "$(since "$t0")"
    done
}

# Primary keys as unique indexes, as the SQLite build makes them; a repeated
# key (real extracts have some) becomes a plain index, with a warning.
build_keys() {
    local db=$1 stmt
    while IFS= read -r stmt; do
        [[ $stmt == CREATE* ]] || continue
        pg "$db" -c "SET ROLE $loader" -c "$stmt" 2>/dev/null && continue
        echo "warning: repeated primary key values, plain index instead: ${stmt/UNIQUE /}" >&2
        pg "$db" -c "SET ROLE $loader" -c "${stmt/UNIQUE /}"
    done <"$omop/primary_keys.sql"
}

# The read-only role may connect and SELECT; no CREATE, no TEMP, no large
# objects (which anyone could otherwise create).
grant_reader() {
    local db=$1
    pg "$db" -v db="$db" -v reader="$reader" <<'EOF'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"reader";
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader";
REVOKE EXECUTE ON FUNCTION lo_create(oid), lo_creat(integer), lo_import(text),
    lo_import(text, oid), lo_from_bytea(oid, bytea), lo_put(oid, bigint, bytea),
    lo_open(oid, integer), lo_unlink(oid) FROM PUBLIC;
EOF
}

# What describe_cdm shows of the CDM, as the database says it at load time.
describe() {
    local db=$1 name=$2
    pg_value "$db" "SELECT json_build_object(
        'database', '$name',
        'cdm_version', (SELECT cdm_version FROM cdm_source LIMIT 1),
        'cdm_source_name', (SELECT cdm_source_name FROM cdm_source LIMIT 1),
        'loaded_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
        'tables', (SELECT json_agg(json_build_object('name', t.table_name, 'rows',
                       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I',
                        t.table_name), false, true, '')))[1]::text::bigint) ORDER BY t.table_name)
                   FROM information_schema.tables t
                   WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'),
        'vocabularies', (SELECT coalesce(json_agg(vocabulary_id ORDER BY vocabulary_id), '[]')
                         FROM (SELECT vocabulary_id FROM vocabulary ORDER BY 1 LIMIT 500) v))"
}

cmd_load() {
    local name=$1 file=$2 version build t0 t1 copy_s index_s bytes
    [[ $name =~ ^[a-z][a-z0-9_]{0,47}$ ]] || die "CDM name must match [a-z][a-z0-9_]*: $name"
    [ -s "$file" ] || die "no such SQLite CDM: $file"
    command -v sqlite3 >/dev/null || die "the sqlite3 program is needed"
    running || die "the cluster is not running; run: $0 start"
    install -d -m 0755 "$cdm_dir"
    version=$(cdm_version "$file")
    build=${name}__loading
    t0=${EPOCHREALTIME/./}
    pg_value postgres "DROP DATABASE IF EXISTS \"$build\" WITH (FORCE)" >/dev/null
    pg_value postgres "CREATE DATABASE \"$build\" OWNER \"$loader\" TEMPLATE template0
        ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C.UTF-8'" >/dev/null
    pg "$build" -c "SET ROLE $loader" -f "$omop/cdm$version.sql"
    copy_tables "$file" "$build"
    copy_s=$(since "$t0")
    t1=${EPOCHREALTIME/./}
    build_keys "$build"
    pg "$build" -c "SET ROLE $loader" -f "$omop/indexes.sql"
    pg "$build" -c "ANALYZE"
    index_s=$(since "$t1")
    grant_reader "$build"
    describe "$build" "$name" >"$cdm_dir/.$name.pg.tmp"
    pg_value postgres "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
    pg_value postgres "ALTER DATABASE \"$build\" RENAME TO \"$name\"" >/dev/null
    pg_value postgres "COMMENT ON DATABASE \"$name\" IS '$marker'" >/dev/null
    chmod 0644 "$cdm_dir/.$name.pg.tmp"
    mv "$cdm_dir/.$name.pg.tmp" "$cdm_dir/$name.pg"
    reload_hba
    bytes=$(pg_value postgres "SELECT pg_database_size('$name')")
    echo "pg-cdm: name=$name cdm_version=5.${version#5} copy_s=$copy_s index_s=$index_s" \
        "total_s=$(since "$t0") bytes=$bytes out=$cdm_dir/$name.pg"
}

cmd_drop() {
    local name=$1
    [[ $name =~ ^[a-z][a-z0-9_]{0,47}$ ]] || die "not a CDM name: $name"
    rm -f "$cdm_dir/$name.pg"
    pg_value postgres "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
    reload_hba
}

cmd_status() {
    if running; then
        echo "pg-cdm: running in $cluster, socket $socket/.s.PGSQL.$port"
        echo "pg-cdm: CDM databases: $(cdm_databases)"
    else
        echo "pg-cdm: not running ($cluster)"
        return 3
    fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
init | start | stop | status)
    [ $# -eq 0 ] || usage
    check_setup
    "cmd_$command"
    ;;
load)
    [ $# -eq 2 ] || usage
    check_setup
    cmd_load "$@"
    ;;
drop)
    [ $# -eq 1 ] || usage
    check_setup
    cmd_drop "$1"
    ;;
psql)
    [ $# -ge 1 ] || usage
    check_setup
    pg "$@"
    ;;
*)
    usage
    ;;
esac
