#!/bin/sh
# The Strom image's entrypoint (under tini): the first argument picks the
# service; everything else is configured by environment variables with
# Confluent's names (docs/deploy.md).
#
#   broker            strom-broker          KAFKA_* (and STROM_*)
#   schema-registry   strom-schema-registry SCHEMA_REGISTRY_* (and STROM_SR_*)
#   rest-proxy        strom-rest-proxy      KAFKA_REST_* (and STROM_REST_*)
#   connect           strom-connect distributed   CONNECT_* (and STROM_CONNECT_*)
#   anything else     run as given (strom topics list -b broker:29092, sh, ...)
#
# Without a command the environment picks the service, so a compose file
# written for Confluent's images (one image per service, no command) runs by
# changing the image names: SCHEMA_REGISTRY_* -> schema-registry,
# KAFKA_REST_* -> rest-proxy, CONNECT_* -> connect, otherwise broker.
# Extra arguments go to the service (a properties file, --override k=v for
# the broker).
set -eu

service_from_environment() {
    if env | grep -q '^SCHEMA_REGISTRY_'; then
        echo schema-registry
    elif env | grep -q '^KAFKA_REST_'; then
        echo rest-proxy
    elif env | grep -q '^CONNECT_'; then
        echo connect
    else
        echo broker
    fi
}

if [ "$#" -gt 0 ]; then
    service="$1"
    shift
else
    service="$(service_from_environment)"
fi

case "$service" in
broker)
    # Confluent's images keep the data in /var/lib/kafka/data; so do we
    # unless the environment says otherwise.
    if [ -z "${KAFKA_LOG_DIRS:-}${KAFKA_LOG_DIR:-}${STROM_LOG_DIRS:-}${STROM_LOG_DIR:-}" ]; then
        export KAFKA_LOG_DIRS=/var/lib/kafka/data
    fi
    exec strom-broker "$@"
    ;;
schema-registry)
    exec strom-schema-registry "$@"
    ;;
rest-proxy)
    exec strom-rest-proxy "$@"
    ;;
connect)
    # Like cp-kafka-connect: a distributed worker configured entirely from
    # CONNECT_* variables, unless a worker properties file is given.
    if [ "$#" -eq 0 ]; then
        exec strom-connect distributed /dev/null
    fi
    exec strom-connect distributed "$@"
    ;;
*)
    exec "$service" "$@"
    ;;
esac
