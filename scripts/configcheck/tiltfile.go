package main

import (
	"encoding/json"
	"fmt"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// A Tilt API function: its parameters as Tilt declares them (internal/tiltfile/api/__init__.py),
// required ones first, and what it gives back. Tilt rejects unknown or missing arguments, and so
// do these, so a misspelt keyword fails here as it would under `tilt up`.
type tiltFunc struct {
	required []string
	optional []string
	result   func(call *recordedCall) starlark.Value
}

func none(*recordedCall) starlark.Value { return starlark.None }

// A live-update step (sync, run, ...): kept as the call that made it, to show inside docker_build.
func step(c *recordedCall) starlark.Value { return c }

var tiltAPI = map[string]tiltFunc{
	"allow_k8s_contexts": {required: []string{"contexts"}, result: none},
	"docker_build": {required: []string{"ref", "context"}, optional: []string{"build_args", "dockerfile", "dockerfile_contents", "live_update", "match_in_env_vars",
		"ignore", "only", "entrypoint", "target", "ssh", "network", "secret", "extra_tag", "container_args", "cache_from", "pull", "platform", "extra_hosts"}, result: none},
	"fall_back_on":      {required: []string{"files"}, result: step},
	"k8s_resource":      {optional: []string{"workload", "new_name", "port_forwards", "extra_pod_selectors", "trigger_mode", "resource_deps", "objects", "auto_init", "pod_readiness", "links", "labels", "discovery_strategy"}, result: none},
	"k8s_yaml":          {required: []string{"yaml"}, optional: []string{"allow_duplicates"}, result: none},
	"listdir":           {required: []string{"directory"}, optional: []string{"recursive"}, result: func(*recordedCall) starlark.Value { return starlark.NewList(nil) }},
	"local":             {required: []string{"command"}, optional: []string{"quiet", "command_bat", "echo_off", "env", "dir", "stdin"}, result: func(*recordedCall) starlark.Value { return starlark.String("") }},
	"read_file":         {required: []string{"file_path"}, optional: []string{"default"}, result: func(*recordedCall) starlark.Value { return starlark.String("") }},
	"restart_container": {result: step},
	"run":               {required: []string{"cmd"}, optional: []string{"trigger", "echo_off"}, result: step},
	"sync":              {required: []string{"local_path", "remote_path"}, result: step},
	"watch_file":        {required: []string{"file_path"}, result: none},
}

// recordedCall is one call of a Tilt function: its name and its arguments by parameter name.
type recordedCall struct {
	Fn   string                    `json:"fn"`
	Args map[string]starlark.Value `json:"-"`
}

func (c *recordedCall) String() string        { return fmt.Sprintf("<%s step>", c.Fn) }
func (c *recordedCall) Type() string          { return "LiveUpdateStep" }
func (c *recordedCall) Freeze()               {}
func (c *recordedCall) Truth() starlark.Bool  { return starlark.True }
func (c *recordedCall) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", c.Type()) }

func (c *recordedCall) MarshalJSON() ([]byte, error) {
	args := map[string]any{}
	for k, v := range c.Args {
		j, err := toJSON(v)
		if err != nil {
			return nil, fmt.Errorf("%s(%s=...): %w", c.Fn, k, err)
		}
		args[k] = j
	}
	return json.Marshal(map[string]any{"fn": c.Fn, "args": args})
}

// checkTiltfile executes the file with the recording Tilt API (k8s_context() answers `context`)
// and returns the calls, in order, as JSON.
func checkTiltfile(file, context string) (string, error) {
	var calls []*recordedCall
	predeclared := starlark.StringDict{
		"k8s_context": starlark.NewBuiltin("k8s_context", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			calls = append(calls, &recordedCall{Fn: "k8s_context", Args: map[string]starlark.Value{}})
			return starlark.String(context), nil
		}),
	}
	names := make([]string, 0, len(tiltAPI))
	for name := range tiltAPI {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f := tiltAPI[name]
		predeclared[name] = starlark.NewBuiltin(name, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			call, err := f.bind(b.Name(), args, kwargs)
			if err != nil {
				return nil, err
			}
			calls = append(calls, call)
			return f.result(call), nil
		})
	}
	thread := &starlark.Thread{Name: file, Print: func(*starlark.Thread, string) {}}
	// Tilt's dialect: top-level if/for, sets, while and recursion allowed.
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	if _, err := starlark.ExecFileOptions(opts, thread, file, nil, predeclared); err != nil {
		if e, ok := err.(*starlark.EvalError); ok {
			return "", fmt.Errorf("%s", e.Backtrace())
		}
		return "", err
	}
	out, err := json.MarshalIndent(calls, "", "  ")
	if err != nil {
		return "", err
	}
	return string(out) + "\n", nil
}

// bind matches the arguments to the parameters as Starlark does for a def with these parameters.
func (f tiltFunc) bind(name string, args starlark.Tuple, kwargs []starlark.Tuple) (*recordedCall, error) {
	params := append(append([]string{}, f.required...), f.optional...)
	values := make([]starlark.Value, len(params))
	pairs := make([]any, 0, 2*len(params))
	for i, p := range params {
		if i >= len(f.required) {
			p += "?"
		}
		pairs = append(pairs, p, &values[i])
	}
	if err := starlark.UnpackArgs(name, args, kwargs, pairs...); err != nil {
		return nil, err
	}
	call := &recordedCall{Fn: name, Args: map[string]starlark.Value{}}
	for i, p := range params {
		if values[i] != nil {
			call.Args[p] = values[i]
		}
	}
	return call, nil
}

func toJSON(v starlark.Value) (any, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		i, ok := v.Int64()
		if !ok {
			return nil, fmt.Errorf("integer %s out of range", v)
		}
		return i, nil
	case starlark.String:
		return string(v), nil
	case *recordedCall:
		return v, nil
	case *starlark.List:
		return seqJSON(v)
	case starlark.Tuple:
		return seqJSON(v)
	case *starlark.Dict:
		out := map[string]any{}
		for _, item := range v.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s is not a string", item[0])
			}
			j, err := toJSON(item[1])
			if err != nil {
				return nil, err
			}
			out[string(k)] = j
		}
		return out, nil
	default:
		return nil, fmt.Errorf("a %s cannot be shown as JSON", v.Type())
	}
}

func seqJSON(seq starlark.Indexable) ([]any, error) {
	out := make([]any, seq.Len())
	for i := range out {
		j, err := toJSON(seq.Index(i))
		if err != nil {
			return nil, err
		}
		out[i] = j
	}
	return out, nil
}
