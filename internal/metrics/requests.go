package metrics

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// requestStats counts requests by (route, status) and times them by
// route. Every series is split into shards picked at random per request,
// each on its own cache lines, and the latency sum is kept in whole
// nanoseconds: a request costs a few uncontended atomic adds, where one
// shared Prometheus histogram costs a compare-and-swap loop on its sum
// that all cores fight over (BenchmarkInstrument). A scrape adds the
// shards up.
type requestStats struct {
	series sync.Map // seriesKey -> *codeCount
	routes sync.Map // route -> *routeTimes
}

const shards = 8 // a power of two

type seriesKey struct {
	route string
	code  int
}

// codeCount is one (route, status)'s request count, with its route's
// times beside it so a request needs one lookup.
type codeCount struct {
	shard [shards]struct {
		n atomic.Uint64
		_ [56]byte // a cache line each
	}
	times *routeTimes
}

// routeTimes is one route's latency histogram.
type routeTimes struct {
	shard [shards]struct {
		// buckets[i] counts requests at most bucketBounds[i] long, not
		// cumulated; the last one counts the rest (+Inf).
		buckets [len(bucketBounds) + 1]atomic.Uint64
		nanos   atomic.Uint64
		_       [64]byte
	}
}

// bucketBounds are LatencyBuckets as durations.
var bucketBounds = func() (b [14]time.Duration) {
	for i, s := range LatencyBuckets {
		b[i] = time.Duration(s * float64(time.Second))
	}
	return b
}()

func (s *requestStats) observe(route string, code int, d time.Duration) {
	if route == "" {
		route = Unmatched
	}
	c := s.count(route, code)
	i := rand.Uint32() & (shards - 1)
	c.shard[i].n.Add(1)
	b := 0
	for b < len(bucketBounds) && d > bucketBounds[b] {
		b++
	}
	t := &c.times.shard[i]
	t.buckets[b].Add(1)
	t.nanos.Add(uint64(max(d, 0)))
}

func (s *requestStats) count(route string, code int) *codeCount {
	k := seriesKey{route, code}
	if c, ok := s.series.Load(k); ok {
		return c.(*codeCount)
	}
	t, _ := s.routes.LoadOrStore(route, &routeTimes{})
	c, _ := s.series.LoadOrStore(k, &codeCount{times: t.(*routeTimes)})
	return c.(*codeCount)
}

var (
	requestsDesc = prometheus.NewDesc("parley_http_requests_total",
		"HTTP requests answered, by route pattern (\"unmatched\" for none) and status code.", []string{"route", "code"}, nil)
	latencyDesc = prometheus.NewDesc("parley_http_request_duration_seconds",
		"Time from a request's arrival to its handler's return, by route pattern. A live stream's is how long it stayed open.", []string{"route"}, nil)
)

func (s *requestStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- latencyDesc
}

func (s *requestStats) Collect(ch chan<- prometheus.Metric) {
	s.series.Range(func(k, v any) bool {
		key, c := k.(seriesKey), v.(*codeCount)
		var n uint64
		for i := range c.shard {
			n += c.shard[i].n.Load()
		}
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), key.route, strconv.Itoa(key.code))
		return true
	})
	s.routes.Range(func(k, v any) bool {
		t := v.(*routeTimes)
		var buckets [len(bucketBounds) + 1]uint64
		var nanos uint64
		for i := range t.shard {
			for b := range buckets {
				buckets[b] += t.shard[i].buckets[b].Load()
			}
			nanos += t.shard[i].nanos.Load()
		}
		cumulative := make(map[float64]uint64, len(LatencyBuckets))
		var count uint64
		for b, le := range LatencyBuckets {
			count += buckets[b]
			cumulative[le] = count
		}
		count += buckets[len(bucketBounds)]
		ch <- prometheus.MustNewConstHistogram(latencyDesc, count, time.Duration(nanos).Seconds(), cumulative, k.(string))
		return true
	})
}
