/*
 * chaperone-test-brokers-add-client BROKERS PLUGIN TOPIC COUNT: a producer
 * that loads the interceptor plugin but has no bootstrap.servers: it adds its
 * brokers with rd_kafka_brokers_add(), as some C daemons do. Produces COUNT
 * JSON messages (no key), waits for their delivery, prints
 * "acked=<n> failed=<n>" (from its own delivery reports), then destroys the
 * producer. Exit status 0 when every message was acknowledged.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int acked, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err)
    failed++;
  else
    acked++;
}

int main(int argc, char **argv) {
  char err[512];
  if (argc != 5) {
    fprintf(stderr, "usage: %s BROKERS PLUGIN TOPIC COUNT\n", argv[0]);
    return 2;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *props[][2] = {
      {"plugin.library.paths", argv[2]}, {"chaperone.tier", "brokers-add"}, {"chaperone.flush.interval.ms", "3600000"}};
  for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
    if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, sizeof err) != RD_KAFKA_CONF_OK) {
      fprintf(stderr, "%s: %s\n", props[i][0], err);
      return 2;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  if (rd_kafka_brokers_add(rk, argv[1]) == 0) {
    fprintf(stderr, "no valid broker in %s\n", argv[1]);
    return 1;
  }
  int n = atoi(argv[4]);
  for (int i = 0; i < n; i++) {
    char v[64];
    snprintf(v, sizeof v, "{\"ts\":1700000000000,\"i\":%d}", i);
    if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[3]), RD_KAFKA_V_VALUE(v, strlen(v)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR)
      failed++;
    rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 30000);
  rd_kafka_destroy(rk);
  printf("acked=%d failed=%d\n", acked, failed);
  return acked == n ? 0 : 1;
}
