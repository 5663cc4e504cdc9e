package main

import (
	"context"
	"log"
	"net"
	"sync"
	"time"
)

// DialResult is the outcome of one connect attempt.
type DialResult struct {
	Address string  `json:"address"`
	OK      bool    `json:"ok"`
	Error   string  `json:"error,omitempty"`
	Millis  float64 `json:"millis"`
}

func dialOnce(ctx context.Context, addr string, timeout time.Duration) DialResult {
	start := time.Now()
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	res := DialResult{Address: addr, Millis: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		res.Error = err.Error()
		return res
	}
	_ = conn.Close()
	res.OK = true
	return res
}

// TargetState is a target with what dialling it has shown so far.
type TargetState struct {
	Target
	Succeeded   bool      `json:"succeeded"` // connected at least once
	LastOK      bool      `json:"lastOk"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError,omitempty"`
	FirstOKAt   time.Time `json:"firstOkAt,omitzero"`
	LastAttempt time.Time `json:"lastAttempt"`
}

// Report is what GET /connectivity returns.
type Report struct {
	Listening    []int         `json:"listening"`
	Targets      []TargetState `json:"targets"`
	AllSucceeded bool          `json:"allSucceeded"`
}

// Prober dials every target until it connects, then re-checks it every recheck interval, logging
// each change of state.
type Prober struct {
	mu       sync.Mutex
	states   []TargetState
	timeout  time.Duration
	interval time.Duration
	recheck  time.Duration
	allDone  chan struct{}
	once     sync.Once
}

func NewProber(targets []Target, timeout, interval time.Duration) *Prober {
	p := &Prober{timeout: timeout, interval: interval, recheck: 30 * time.Second, allDone: make(chan struct{})}
	required := 0
	for _, t := range targets {
		p.states = append(p.states, TargetState{Target: t})
		if !t.Optional {
			required++
		}
	}
	if required == 0 {
		p.once.Do(func() { close(p.allDone) })
	}
	return p
}

func (p *Prober) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range p.states {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.watch(ctx, i)
		}()
	}
	wg.Wait()
}

func (p *Prober) watch(ctx context.Context, i int) {
	for {
		res := dialOnce(ctx, p.states[i].Address, p.timeout)
		if ctx.Err() != nil {
			return
		}
		p.record(i, res)
		wait := p.interval
		if res.OK {
			wait = p.recheck
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (p *Prober) record(i int, res DialResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &p.states[i]
	changed := s.Attempts == 0 || s.LastOK != res.OK || (!res.OK && s.LastError != res.Error)
	s.Attempts++
	s.LastAttempt = time.Now().UTC()
	s.LastOK = res.OK
	s.LastError = res.Error
	if res.OK && !s.Succeeded {
		s.Succeeded = true
		s.FirstOKAt = s.LastAttempt
	}
	if changed {
		if res.OK {
			log.Printf("%s -> %s ok (attempt %d, %.1f ms)", s.Env, s.Address, s.Attempts, res.Millis)
		} else {
			log.Printf("%s -> %s failed (attempt %d): %s", s.Env, s.Address, s.Attempts, res.Error)
		}
	}
	required := 0
	for _, st := range p.states {
		if st.Optional {
			continue
		}
		required++
		if !st.Succeeded {
			return
		}
	}
	p.once.Do(func() {
		if required == len(p.states) {
			log.Printf("all %d connections succeeded", required)
		} else {
			log.Printf("all %d required connections succeeded (%d optional)", required, len(p.states)-required)
		}
		close(p.allDone)
	})
}

// AllSucceeded is closed once every required target has connected at least once.
func (p *Prober) AllSucceeded() <-chan struct{} { return p.allDone }

// Failing counts required targets that never connected.
func (p *Prober) Failing() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.states {
		if !s.Succeeded && !s.Optional {
			n++
		}
	}
	return n
}

func (p *Prober) Report() Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := Report{Targets: append([]TargetState(nil), p.states...), AllSucceeded: true}
	if r.Targets == nil {
		r.Targets = []TargetState{}
	}
	for _, s := range r.Targets {
		if !s.Succeeded && !s.Optional {
			r.AllSucceeded = false
		}
	}
	return r
}
