#!/bin/sh
# Container entrypoint: read secrets from files, then run the command given (mimamori …).
#
# For each NAME below, NAME_FILE=/run/secrets/x sets NAME to that file's content (trailing newline
# dropped), as the postgres image does with POSTGRES_PASSWORD_FILE: the secret then appears in
# neither compose.yaml nor `docker inspect`. Setting both NAME and NAME_FILE is refused.
set -eu

for name in MIMAMORI_SECRET_KEY DATABASE_URL PGPASSWORD MIMAMORI_METRICS_TOKEN; do
    eval "file=\${${name}_FILE:-}"
    [ -n "$file" ] || continue
    eval "direct=\${${name}:-}"
    if [ -n "$direct" ]; then
        echo "mimamori-entrypoint: both $name and ${name}_FILE are set; set only one" >&2
        exit 64
    fi
    if [ ! -r "$file" ]; then
        echo "mimamori-entrypoint: ${name}_FILE=$file cannot be read" >&2
        exit 66
    fi
    value=$(cat "$file")
    export "$name=$value"
    unset "${name}_FILE"
done

exec "$@"
