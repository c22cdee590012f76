/*
 * chaperone-test-exit-without-destroy BOOTSTRAP PLUGIN TOPIC COUNT: produces
 * COUNT JSON messages through the interceptor plugin, waits for their
 * delivery, then exit()s without rd_kafka_destroy(), as careless programs do.
 * The plugin's exit handler must still report them.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  char err[512];
  if (argc != 5) {
    fprintf(stderr, "usage: %s BOOTSTRAP PLUGIN TOPIC COUNT\n", argv[0]);
    return 2;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *props[][2] = {{"plugin.library.paths", argv[2]},
                            {"bootstrap.servers", argv[1]},
                            {"chaperone.tier", "exit-without-destroy"},
                            {"chaperone.flush.interval.ms", "3600000"}};
  for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
    if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, sizeof err) != RD_KAFKA_CONF_OK) {
      fprintf(stderr, "%s: %s\n", props[i][0], err);
      return 2;
    }
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  int n = atoi(argv[4]);
  for (int i = 0; i < n; i++) {
    char v[64];
    snprintf(v, sizeof v, "{\"ts\":1700000000000,\"i\":%d}", i);
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(argv[3]), RD_KAFKA_V_VALUE(v, strlen(v)),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  }
  if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) return 1;
  exit(0);
}
