// Command connectivity stands in for a component whose real image cannot be built: it listens on
// the component's ports and answers every HTTP path with 200 (so its probes pass), and dials every
// connection the component's environment names, reporting which succeeded in its log and at
// GET /connectivity. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var version = "dev"

type portList []int

func (p *portList) String() string { return fmt.Sprint([]int(*p)) }

// Set accepts "8000", "8000,8501" or "http=8000" (a port name as in the manifests).
func (p *portList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if _, after, ok := strings.Cut(item, "="); ok {
			item = after
		}
		n, err := strconv.Atoi(item)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q is not a TCP port (1-65535)", item)
		}
		*p = append(*p, n)
	}
	return nil
}

// dialList holds the --dial targets: "host:port", repeatable, comma-separated.
type dialList []Target

func (d *dialList) String() string { return fmt.Sprint(len(*d)) }

func (d *dialList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		host, port, err := net.SplitHostPort(item)
		n, ok := validPort(port)
		if err != nil || !ok || !validHost(host) {
			return fmt.Errorf("%q is not host:port (a host name or IP address, and a port 1-65535)", item)
		}
		*d = append(*d, Target{Env: "--dial", Host: host, Port: n, Address: net.JoinHostPort(host, port), Source: "flag"})
	}
	return nil
}

type options struct {
	listen   portList
	dial     dialList
	timeout  time.Duration
	interval time.Duration
	once     bool
	require  string
	deadline time.Duration
	ignored  []string
}

func parseOptions(args []string, getenv func(string) string) (options, error) {
	var o options
	fs := flag.NewFlagSet("connectivity", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Var(&o.listen, "listen", "port to serve HTTP on (repeatable, comma-separated; env CONNECTIVITY_LISTEN, else PORT, else PGADMIN_LISTEN_PORT)")
	fs.Var(&o.dial, "dial", "host:port to dial besides what the environment names (repeatable, comma-separated)")
	fs.DurationVar(&o.timeout, "dial-timeout", 3*time.Second, "time allowed for one TCP connect")
	fs.DurationVar(&o.interval, "interval", 2*time.Second, "pause between attempts of a target that has not connected yet")
	fs.BoolVar(&o.once, "once", getenv("CONNECTIVITY_ONCE") == "true", "exit when every target has connected (0) or -deadline passed (1); for Jobs and CronJobs")
	fs.DurationVar(&o.deadline, "deadline", 5*time.Minute, "with -once: give up after this long")
	fs.StringVar(&o.require, "require", "all", `which connections count for -once and allSucceeded: "all", or "dial" (only the -dial ones; the environment's are reported)`)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	// Arguments after "--" are the real program's command line: accepted and ignored.
	if rest := fs.Args(); len(rest) > 0 {
		if len(args) == 0 || !containsDashDash(args) {
			return o, fmt.Errorf("unexpected argument %q: put the real program's arguments after --", rest[0])
		}
		o.ignored = rest
	}
	// PGADMIN_LISTEN_PORT is how pgAdmin's image is told its port, so the stand-in takes pgAdmin's place
	// with an image override alone (its manifests set that variable).
	for _, env := range []string{"CONNECTIVITY_LISTEN", "PORT", "PGADMIN_LISTEN_PORT"} {
		if len(o.listen) > 0 {
			break
		}
		if v := getenv(env); v != "" {
			if err := o.listen.Set(v); err != nil {
				return o, fmt.Errorf("%s: %v", env, err)
			}
		}
	}
	if o.require != "all" && o.require != "dial" {
		return o, fmt.Errorf("-require %q: expected all or dial", o.require)
	}
	if o.timeout <= 0 || o.interval <= 0 || o.deadline <= 0 {
		return o, errors.New("-dial-timeout, -interval and -deadline must be positive")
	}
	return o, nil
}

func containsDashDash(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return true
		}
	}
	return false
}

func main() {
	log.SetFlags(log.Ldate | log.Ltime | log.LUTC)
	log.SetPrefix("connectivity: ")
	o, err := parseOptions(os.Args[1:], os.Getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "connectivity: %v\n", err)
		os.Exit(2)
	}
	log.Printf("version %s; listening on %v; ignoring arguments %q", version, []int(o.listen), o.ignored)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	targets := TargetsFromEnv(os.Environ())
	for i := range targets {
		targets[i].Optional = o.require == "dial"
	}
	targets = append(targets, o.dial...)
	if len(targets) == 0 {
		log.Printf("the environment names no connections")
	}
	for _, t := range targets {
		log.Printf("target %s -> %s (%s)", t.Env, t.Address, t.Source)
	}
	prober := NewProber(targets, o.timeout, o.interval)
	go prober.Run(ctx)

	servers := make([]*http.Server, 0, len(o.listen))
	mux := newMux(prober, o.listen, o.timeout)
	for _, port := range o.listen {
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			fmt.Fprintf(os.Stderr, "connectivity: cannot listen on port %d: %v\n", port, err)
			os.Exit(1)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Printf("port %d: %v", port, err)
			}
		}()
	}

	code := 0
	if o.once {
		select {
		case <-prober.AllSucceeded():
		case <-time.After(o.deadline):
			log.Printf("deadline %s passed: %d of %d connections never succeeded", o.deadline, prober.Failing(), len(targets))
			code = 1
		case <-ctx.Done():
		}
	} else {
		<-ctx.Done()
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdown)
	}
	os.Exit(code)
}

func newMux(p *Prober, ports []int, timeout time.Duration) *http.ServeMux {
	mux := http.NewServeMux()
	// GET /connectivity: every target's state; ?require=all answers 503 until all have connected.
	mux.HandleFunc("/connectivity", func(w http.ResponseWriter, r *http.Request) {
		rep := p.Report()
		rep.Listening = ports
		status := http.StatusOK
		if r.URL.Query().Get("require") == "all" && !rep.AllSucceeded {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, rep)
	})
	// GET /dial?address=host:port: one connect attempt from this pod, now (for flow checks).
	mux.HandleFunc("/dial", func(w http.ResponseWriter, r *http.Request) {
		addr := r.URL.Query().Get("address")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "address must be host:port"})
			return
		}
		res := dialOnce(r.Context(), addr, timeout)
		writeJSON(w, http.StatusOK, res)
	})
	// Every other path is a probe path of the real component: 200.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
