/*
 * A plain librdkafka producer for bench/interceptor_bench.sh: produces N JSON
 * messages of exactly SIZE bytes ({"ts":<ms>,"id":<n>,"pad":"xx..."}) as fast
 * as it can, waits for every delivery report, and prints one line:
 *
 *   messages=<n> delivered=<n> failed=<n> seconds=<s> msgs_per_sec=<r>
 *
 * Usage: interceptor_producer -b BOOTSTRAP -t TOPIC [-n COUNT] [-s SIZE]
 *                             [-X prop=value]...
 * Properties are applied in order, so put plugin.library.paths first.
 */
#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long delivered = 0;
static long long failed = 0;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err)
    failed++;
  else
    delivered++;
}

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set_or_die(rd_kafka_conf_t *conf, const char *name, const char *value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "interceptor_producer: %s: %s\n", name, errstr);
    exit(2);
  }
}

int main(int argc, char **argv) {
  const char *bootstrap = NULL, *topic = NULL;
  long long count = 1000000;
  int size = 200;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  /* Throughput settings shared by both runs of the benchmark. */
  set_or_die(conf, "linger.ms", "5");
  set_or_die(conf, "batch.num.messages", "10000");
  set_or_die(conf, "queue.buffering.max.messages", "1000000");
  set_or_die(conf, "queue.buffering.max.kbytes", "1048576");

  int opt;
  while ((opt = getopt(argc, argv, "b:t:n:s:X:")) != -1) {
    switch (opt) {
      case 'b': bootstrap = optarg; break;
      case 't': topic = optarg; break;
      case 'n': count = atoll(optarg); break;
      case 's': size = atoi(optarg); break;
      case 'X': {
        char *eq = strchr(optarg, '=');
        if (!eq) {
          fprintf(stderr, "interceptor_producer: -X expects prop=value\n");
          return 2;
        }
        *eq = '\0';
        set_or_die(conf, optarg, eq + 1);
        break;
      }
      default:
        fprintf(stderr, "usage: %s -b BOOTSTRAP -t TOPIC [-n COUNT] [-s SIZE] [-X prop=value]...\n", argv[0]);
        return 2;
    }
  }
  if (!bootstrap || !topic || count <= 0 || size < 64) {
    fprintf(stderr, "usage: %s -b BOOTSTRAP -t TOPIC [-n COUNT] [-s SIZE>=64] [-X prop=value]...\n", argv[0]);
    return 2;
  }
  set_or_die(conf, "bootstrap.servers", bootstrap);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);

  char errstr[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) {
    fprintf(stderr, "interceptor_producer: %s\n", errstr);
    return 1;
  }
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);

  char *buf = malloc((size_t)size + 1);
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  long long ts = (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;

  double start = now_sec();
  for (long long i = 0; i < count; i++) {
    int n = snprintf(buf, (size_t)size + 1, "{\"ts\":%lld,\"id\":%lld,\"pad\":\"", ts, i);
    memset(buf + n, 'x', (size_t)(size - n - 2));
    buf[size - 2] = '"';
    buf[size - 1] = '}';
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf, (size_t)size, NULL, 0, NULL) ==
           -1) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        fprintf(stderr, "interceptor_producer: produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
        return 1;
      }
      rd_kafka_poll(rk, 1);
    }
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  while (rd_kafka_outq_len(rk) > 0) rd_kafka_flush(rk, 1000);
  rd_kafka_poll(rk, 0);
  double secs = now_sec() - start;

  printf("messages=%lld delivered=%lld failed=%lld seconds=%.3f msgs_per_sec=%.0f\n", count, delivered, failed, secs,
         (double)delivered / secs);
  fflush(stdout);
  free(buf);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return failed == 0 && delivered == count ? 0 : 1;
}
