package main

import (
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Target is one connection a component's environment names.
type Target struct {
	Env     string `json:"env"`     // the variable(s) it came from
	Host    string `json:"host"`    //
	Port    int    `json:"port"`    //
	Source  string `json:"source"`  // url, address, host+port or host (default port)
	Address string `json:"address"` // host:port as dialled
	// Optional targets are reported but not waited for (--require dial: only --dial targets count).
	Optional bool `json:"optional,omitempty"`
}

// Default ports of URL schemes (the part before any "+driver") seen in compose files.
var schemePorts = map[string]int{
	"http": 80, "https": 443, "ws": 80, "wss": 443,
	"postgres": 5432, "postgresql": 5432, "redis": 6379, "rediss": 6379,
	"mysql": 3306, "mariadb": 3306, "mongodb": 27017, "amqp": 5672, "amqps": 5671,
	"nats": 4222, "kafka": 9092, "memcached": 11211, "smtp": 25, "ldap": 389, "ldaps": 636,
	"elasticsearch": 9200, "clickhouse": 9000, "minio": 9000, "s3": 443, "ftp": 21,
}

// Default ports by what a *_HOST variable's prefix says it points at, for HOST without PORT.
var prefixPorts = []struct {
	re   *regexp.Regexp
	port int
}{
	{regexp.MustCompile(`(^|_)(POSTGRES|POSTGRESQL|PG|DB|DATABASE)(_|$)`), 5432},
	{regexp.MustCompile(`(^|_)REDIS(_|$)`), 6379},
	{regexp.MustCompile(`(^|_)(MYSQL|MARIADB)(_|$)`), 3306},
	{regexp.MustCompile(`(^|_)MONGO(DB)?(_|$)`), 27017},
	{regexp.MustCompile(`(^|_)(RABBITMQ|RABBIT|AMQP)(_|$)`), 5672},
	{regexp.MustCompile(`(^|_)MEMCACHED?(_|$)`), 11211},
	{regexp.MustCompile(`(^|_)(ELASTICSEARCH|ES)(_|$)`), 9200},
}

// Variables that are about the pod itself or the cluster, never a connection the component makes.
var ignoredName = regexp.MustCompile(`^(CONNECTIVITY_.*|KUBERNETES_.*|.*_SERVICE_HOST|.*_SERVICE_PORT(_.*)?|.*_PORT_[0-9]+_.*|HOSTNAME|HOME|PATH|PWD|SHLVL|TERM|LANG|LC_.*|TZ)$`)

var (
	hostPortRe = regexp.MustCompile(`^\[?([A-Za-z0-9._:-]+?)\]?:([0-9]{1,5})$`)
	hostnameRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
	hostSuffix = regexp.MustCompile(`^(.*?)_?(HOST|HOSTNAME|SERVER|ADDR|ADDRESS)$`)
)

// validHost accepts DNS names with at least one letter (so "12:30" is not an address) and IPs,
// and rejects wildcard bind addresses, which are where a server listens, not what a client dials.
func validHost(h string) bool {
	if ip := net.ParseIP(h); ip != nil {
		return !ip.IsUnspecified()
	}
	return hostnameRe.MatchString(h) && strings.ContainsAny(strings.ToLower(h), "abcdefghijklmnopqrstuvwxyz")
}

func validPort(p string) (int, bool) {
	n, err := strconv.Atoi(p)
	return n, err == nil && n > 0 && n < 65536
}

// fromValue finds URLs and host:port addresses in one value (lists split on commas and spaces).
func fromValue(name, value string) []Target {
	var out []Target
	for _, item := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\t' }) {
		if strings.Contains(item, "://") {
			u, err := url.Parse(item)
			if err != nil || u.Hostname() == "" || !validHost(u.Hostname()) {
				continue
			}
			scheme := strings.ToLower(strings.SplitN(u.Scheme, "+", 2)[0])
			port, ok := validPort(u.Port())
			if u.Port() == "" {
				port, ok = schemePorts[scheme]
			}
			if ok {
				out = append(out, Target{Env: name, Host: u.Hostname(), Port: port, Source: "url"})
			}
			continue
		}
		if m := hostPortRe.FindStringSubmatch(item); m != nil && validHost(m[1]) {
			if port, ok := validPort(m[2]); ok {
				out = append(out, Target{Env: name, Host: m[1], Port: port, Source: "address"})
			}
		}
	}
	return out
}

// TargetsFromEnv lists every connection named by "KEY=value" entries: URLs (scheme default port
// when none is given), host:port values, FOO_HOST with FOO_PORT (also PGHOST with PGPORT), and
// FOO_HOST alone when FOO names a well-known server. Sorted by variable; duplicates removed.
func TargetsFromEnv(environ []string) []Target {
	env := map[string]string{}
	var names []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || ignoredName.MatchString(k) {
			continue
		}
		if _, seen := env[k]; !seen {
			names = append(names, k)
		}
		env[k] = v
	}
	sort.Strings(names)

	var out []Target
	for _, name := range names {
		value := strings.TrimSpace(env[name])
		if found := fromValue(name, value); len(found) > 0 {
			out = append(out, found...)
			continue
		}
		m := hostSuffix.FindStringSubmatch(name)
		if m == nil || !validHost(value) {
			continue
		}
		prefix := m[1]
		portVar := prefix + "_PORT"
		if prefix == "PG" && m[2] == "HOST" {
			portVar = "PGPORT"
		}
		if p, ok := env[portVar]; ok {
			if port, ok := validPort(strings.TrimSpace(p)); ok {
				out = append(out, Target{Env: name + "+" + portVar, Host: value, Port: port, Source: "host+port"})
			}
			continue
		}
		for _, pp := range prefixPorts {
			if pp.re.MatchString(prefix) {
				out = append(out, Target{Env: name, Host: value, Port: pp.port, Source: "host (default port)"})
				break
			}
		}
	}

	seen := map[string]bool{}
	uniq := out[:0]
	for _, t := range out {
		t.Address = net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
		if key := t.Env + " " + t.Address; !seen[key] {
			seen[key] = true
			uniq = append(uniq, t)
		}
	}
	return uniq
}
