#!/bin/bash
# strom-healthcheck [SERVICE [HOST:PORT]]: exits 0 when the service answers.
#   broker            a Kafka Metadata request (`strom topics list`)
#   schema-registry   GET /subjects answers 200
#   rest-proxy        GET /topics answers 200
#   connect           GET /connectors answers 200
# Without arguments (the image's HEALTHCHECK) the service is the one the
# entrypoint runs, on its standard port.
set -u

service="${1:-}"
if [[ -z "$service" ]]; then
    # The service the entrypoint runs: its command (on PID 1's command line,
    # after tini's `--` and `strom-entrypoint`), else the environment, as the
    # entrypoint picks it.
    for arg in $(tr '\0' ' ' </proc/1/cmdline 2>/dev/null); do
        case "$arg" in broker | schema-registry | rest-proxy | connect) service="$arg" && break ;; esac
    done
fi
if [[ -z "$service" ]]; then
    if env | grep -q '^SCHEMA_REGISTRY_'; then
        service=schema-registry
    elif env | grep -q '^KAFKA_REST_'; then
        service=rest-proxy
    elif env | grep -q '^CONNECT_'; then
        service=connect
    else
        service=broker
    fi
fi
case "$service" in
broker) address="${2:-localhost:9092}" ;;
schema-registry) address="${2:-localhost:8081}" path=/subjects ;;
rest-proxy) address="${2:-localhost:8082}" path=/topics ;;
connect) address="${2:-localhost:8083}" path=/connectors ;;
*) echo "strom-healthcheck: unknown service $service" >&2 && exit 2 ;;
esac

if [[ "$service" == broker ]]; then
    exec timeout 8 strom topics list --bootstrap-server "$address" >/dev/null
fi

# A plain HTTP/1.0 GET over bash's /dev/tcp: no curl in the image.
host="${address%:*}" port="${address##*:}"
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$address" >&3
IFS= read -r -t 8 status <&3 || exit 1
case "$status" in
"HTTP/"*" 200"*) exit 0 ;;
*) echo "strom-healthcheck: $service answered: $status" >&2 && exit 1 ;;
esac
