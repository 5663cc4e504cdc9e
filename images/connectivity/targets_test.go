package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func addresses(ts []Target) map[string]string {
	out := map[string]string{}
	for _, t := range ts {
		out[t.Env] = t.Address + " " + t.Source
	}
	return out
}

func TestTargetsFromEnv(t *testing.T) {
	env := []string{
		"DATABASE_URL=postgresql://app:s3cr%40t@postgres:5432/app",
		"FEATURES_DATABASE_URL=postgresql+psycopg://pipeline:x@postgres/features",
		"REDIS_URL=redis://:pw@redis:6379/1",
		"API_URL=http://api:8000",
		"EXTERNAL=https://api.stlouisfed.org/fred",
		"BROKERS=kafka-0:9092,kafka-1:9092",
		"DB_HOST=db",
		"DB_PORT=5433",
		"CACHE_HOST=memcache",
		"REDIS_HOST=cache",
		"PGHOST=pg",
		"PGPORT=6432",
		"BIND=0.0.0.0:8000",
		"SCHEDULE=12:30",
		"LOG_LEVEL=info",
		"KUBERNETES_SERVICE_HOST=10.96.0.1",
		"KUBERNETES_SERVICE_PORT=443",
		"HOSTNAME=api-7d9c",
		"SOCKET=unix:///var/run/app.sock",
	}
	got := addresses(TargetsFromEnv(env))
	want := map[string]string{
		"API_URL":               "api:8000 url",
		"BROKERS":               "kafka-1:9092 address",
		"DATABASE_URL":          "postgres:5432 url",
		"DB_HOST+DB_PORT":       "db:5433 host+port",
		"EXTERNAL":              "api.stlouisfed.org:443 url",
		"FEATURES_DATABASE_URL": "postgres:5432 url",
		"PGHOST+PGPORT":         "pg:6432 host+port",
		"REDIS_HOST":            "cache:6379 host (default port)",
		"REDIS_URL":             "redis:6379 url",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("targets\n got %v\nwant %v", got, want)
	}
	if n := len(TargetsFromEnv(env)); n != 10 { // BROKERS yields two
		t.Fatalf("want 10 targets (both brokers), got %d", n)
	}
}

func TestParseOptions(t *testing.T) {
	env := map[string]string{"CONNECTIVITY_LISTEN": "http=8000,9090"}
	o, err := parseOptions(nil, func(k string) string { return env[k] })
	if err != nil || !reflect.DeepEqual([]int(o.listen), []int{8000, 9090}) {
		t.Fatalf("env ports: %v %v", o.listen, err)
	}
	// pgAdmin's own variable, used only when neither of the generic ones is set.
	o, err = parseOptions(nil, func(k string) string { return map[string]string{"PGADMIN_LISTEN_PORT": "5050"}[k] })
	if err != nil || !reflect.DeepEqual([]int(o.listen), []int{5050}) {
		t.Fatalf("PGADMIN_LISTEN_PORT: %v %v", o.listen, err)
	}
	o, err = parseOptions(nil, func(k string) string { return map[string]string{"PORT": "8080", "PGADMIN_LISTEN_PORT": "5050"}[k] })
	if err != nil || !reflect.DeepEqual([]int(o.listen), []int{8080}) {
		t.Fatalf("PORT before PGADMIN_LISTEN_PORT: %v %v", o.listen, err)
	}
	o, err = parseOptions([]string{"--listen", "8501", "--", "streamlit", "run", "app.py"}, func(string) string { return "" })
	if err != nil || !reflect.DeepEqual([]int(o.listen), []int{8501}) || len(o.ignored) != 3 {
		t.Fatalf("flags: %+v %v", o, err)
	}
	if _, err = parseOptions([]string{"gunicorn"}, func(string) string { return "" }); err == nil {
		t.Fatal("a stray argument must be an error")
	}
	if _, err = parseOptions([]string{"--listen", "99999"}, func(string) string { return "" }); err == nil {
		t.Fatal("port 99999 must be an error")
	}
	o, err = parseOptions([]string{"--dial", "db:5432,redis:6379", "--dial", "10.0.0.7:9092"}, func(string) string { return "" })
	if err != nil || len(o.dial) != 3 || o.dial[0].Address != "db:5432" || o.dial[2].Port != 9092 || o.dial[1].Env != "--dial" {
		t.Fatalf("--dial: %+v %v", o.dial, err)
	}
	for _, bad := range []string{"db", "db:0", "0.0.0.0:80", "db:http", ":5432"} {
		if _, err = parseOptions([]string{"--dial", bad}, func(string) string { return "" }); err == nil {
			t.Fatalf("--dial %s must be an error", bad)
		}
	}
}

func TestProberAndEndpoints(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// A port nothing listens on: listen, note the port, close.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadPort := dead.Addr().(*net.TCPAddr).Port
	dead.Close()
	up := ln.Addr().(*net.TCPAddr).Port
	targets := TargetsFromEnv([]string{
		"UP_URL=http://127.0.0.1:" + strconv.Itoa(up),
		"DOWN_URL=http://127.0.0.1:" + strconv.Itoa(deadPort),
	})
	p := NewProber(targets, time.Second, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for p.Failing() != 1 || p.Report().Targets[1].Attempts == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("prober did not settle: %+v", p.Report())
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv := httptest.NewServer(newMux(p, []int{8000}, time.Second))
	defer srv.Close()

	res, err := http.Get(srv.URL + "/connectivity?require=all")
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || rep.AllSucceeded || len(rep.Targets) != 2 {
		t.Fatalf("require=all with one target down: %d %+v", res.StatusCode, rep)
	}
	for _, s := range rep.Targets {
		if want := s.Env == "UP_URL"; s.Succeeded != want {
			t.Fatalf("%s succeeded=%v", s.Env, s.Succeeded)
		}
	}
	// The same down target as optional (--require dial): the required one alone decides.
	opt := append([]Target(nil), targets...)
	for i := range opt {
		opt[i].Optional = opt[i].Env == "DOWN_URL"
	}
	q := NewProber(opt, time.Second, 50*time.Millisecond)
	go q.Run(ctx)
	select {
	case <-q.AllSucceeded():
	case <-time.After(5 * time.Second):
		t.Fatalf("required target up, optional down: AllSucceeded never closed: %+v", q.Report())
	}
	if q.Failing() != 0 || !q.Report().AllSucceeded {
		t.Fatalf("optional target counted: %+v", q.Report())
	}
	if _, err := parseOptions([]string{"--require", "some"}, func(string) string { return "" }); err == nil {
		t.Fatal("--require some must be an error")
	}
	res, _ = http.Get(srv.URL + "/health")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("probe path: %d", res.StatusCode)
	}
	res, _ = http.Get(srv.URL + "/dial?address=127.0.0.1:" + strconv.Itoa(deadPort))
	var d DialResult
	_ = json.NewDecoder(res.Body).Decode(&d)
	if d.OK || d.Error == "" {
		t.Fatalf("dial of a closed port: %+v", d)
	}
}
