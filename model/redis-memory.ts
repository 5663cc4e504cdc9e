/**
 * Redis memory: the `maxmemory` cap, the eviction policy and the container's memory limit decided
 * together. Redis counts only its dataset against `maxmemory`; the process also holds allocator
 * fragmentation, client and replication buffers, and during an append-only rewrite the forked child
 * copies every page the parent writes. With the cap equal to the limit, the kernel kills Redis
 * before it ever evicts or refuses a write (seen on a real node at 220-245 MB of a 256Mi limit).
 */
import type { RedisComponent, Resources } from './schema';

/**
 * The container limit must be at least this multiple of `maxmemory`: while a rewrite's child runs,
 * every page the parent writes is copied, so a cache taking writes at its cap can need the dataset
 * twice (a 1.5 limit was OOM-killed on the real node under a write flood during a rewrite).
 */
export const REDIS_HEADROOM = 2;

export const EVICTION_POLICIES = [
  'noeviction',
  'allkeys-lru',
  'allkeys-lfu',
  'allkeys-random',
  'volatile-lru',
  'volatile-lfu',
  'volatile-random',
  'volatile-ttl',
] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

const MI = 1024 * 1024;
const K8S_UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: MI, Gi: 1024 * MI, Ti: 1024 * 1024 * MI };
const REDIS_UNITS: Record<string, number> = { kb: 1024, mb: MI, gb: 1024 * MI };

/** Bytes of a Kubernetes memory quantity ("512Mi", "1G", "268435456"). */
export function quantityBytes(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(k|Ki|Mi|Gi|Ti|M|G|T)?$/.exec(q);
  if (!m) throw new Error(`not a memory quantity: ${q}`);
  return Math.ceil(Number(m[1]) * K8S_UNITS[m[2] ?? '']);
}

/** Bytes of a Redis size as the spec writes it ("256mb"; Redis reads mb as MiB). */
export function redisSizeBytes(s: string): number {
  const m = /^([0-9]+)(kb|mb|gb)$/.exec(s);
  if (!m) throw new Error(`not a Redis size: ${s}`);
  return Number(m[1]) * REDIS_UNITS[m[2]];
}

/** The smallest container memory limit that leaves headroom above `maxMemory`, in whole Mi. */
export function minimumLimit(maxMemory: string): string {
  return `${Math.ceil((redisSizeBytes(maxMemory) * REDIS_HEADROOM) / MI)}Mi`;
}

/**
 * The preset's resources with the memory limit raised, when the component's `maxMemory` needs more
 * than the preset gives. Explicit resources are never changed here (see `redisMemoryProblem`).
 */
export function withRedisHeadroom(c: RedisComponent, preset: Resources): Resources {
  if (!c.maxMemory || quantityBytes(preset.limits.memory) >= quantityBytes(minimumLimit(c.maxMemory))) return preset;
  return { ...preset, limits: { ...preset.limits, memory: minimumLimit(c.maxMemory) } };
}

/** Why these resources cannot hold this cap, or undefined when they can. */
export function redisMemoryProblem(c: RedisComponent, resources: Resources): string | undefined {
  if (!c.maxMemory) return undefined;
  const need = minimumLimit(c.maxMemory);
  if (quantityBytes(resources.limits.memory) >= quantityBytes(need)) return undefined;
  return (
    `${resources.limits.memory} leaves Redis no headroom above maxMemory ${c.maxMemory}: the kernel would kill it before it evicts ` +
    `or refuses a write (fragmentation, buffers, the append-only rewrite's fork). Set at least ${need} or lower maxMemory`
  );
}

/** The settings redis.conf gets: an explicit cap, or one derived from the limit so the pod is never OOM-killed. */
export function redisMemorySettings(c: RedisComponent, resources: Resources): { maxmemory: string; policy: EvictionPolicy } {
  const maxmemory = c.maxMemory ?? `${Math.floor(quantityBytes(resources.limits.memory) / REDIS_HEADROOM / MI)}mb`;
  return { maxmemory, policy: c.evictionPolicy ?? (c.cache ? 'allkeys-lru' : 'noeviction') };
}
