/*
 * chaperone-test-static-client: a client with librdkafka linked in
 * statically, which sets plugin.library.paths to argv[1]. The interceptor
 * plugin must refuse it (it would otherwise drive the system librdkafka on
 * this copy's configuration). Prints librdkafka's answer; exits 0 if the
 * plugin was accepted, 3 if it was refused.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>

int main(int argc, char **argv) {
  char err[1024] = "";
  if (argc != 2) {
    fprintf(stderr, "usage: %s PLUGIN\n", argv[0]);
    return 2;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, "plugin.library.paths", argv[1], err, sizeof err);
  printf("%s\n", res == RD_KAFKA_CONF_OK ? "accepted" : err);
  rd_kafka_conf_destroy(conf);
  return res == RD_KAFKA_CONF_OK ? 0 : 3;
}
