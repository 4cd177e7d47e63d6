"""Redis job ledger: every transition one Lua script, so it is atomic across hosts.

Each job is one JSON document (``<prefix>:job:<id>``; its payload and checkpoint kept as JSON
strings, never re-encoded); sorted sets index the running jobs by lease, the waiting jobs by
dispatch time, ordering groups, the dead-letter queue and schedule ticks. Times are stored with
0.1 ms precision (Redis's cjson). Needs one Redis instance (the scripts derive keys from the
prefix, which Redis Cluster does not allow).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis

from jobforge_runtime.ledger import Then, bucket_of, new_record
from jobforge_runtime.records import (
    Alert,
    Claim,
    ClaimLimits,
    ClaimOutcome,
    Completion,
    DeadLetter,
    JobRecord,
    JobStatus,
    JSONObject,
    NewJob,
    Settlement,
    dumps,
)

_INSERT = """
local function insert(p, doc, now)
  local j = cjson.decode(doc)
  local id = j.job_id
  redis.call('SET', p..':job:'..id, doc)
  if j.idempotency_key ~= cjson.null then redis.call('SET', p..':idem:'..j.idempotency_key, id) end
  if j.unique_key ~= cjson.null then redis.call('SET', p..':uniq:'..j.unique_key, id) end
  redis.call('ZADD', p..':jobs', now, id)
  redis.call('ZADD', p..':waiting', now, id)
  if j.group_key ~= cjson.null then redis.call('ZADD', p..':group:'..j.group_key, now, id) end
  redis.call('HINCRBYFLOAT', p..':counters', 'jobs_enqueued_total|'..j.job_type, 1)
end
"""

_CREATE = (
    _INSERT
    + """
local p, doc, idem, uniq, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local list, message = ARGV[6], ARGV[7]
if idem ~= '' then
  local found = redis.call('GET', p..':idem:'..idem)
  if found then return {0, found} end
end
if uniq ~= '' then
  local found = redis.call('GET', p..':uniq:'..uniq)
  if found then return {0, found} end
end
insert(p, doc, now)
if list ~= '' then redis.call('LPUSH', list, message) end
return {1, ''}
"""
)

_CLAIM = """
local p, id, now, lease, worker = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local gcap, tcap, rate, ordered = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
local raw = redis.call('GET', p..':job:'..id)
if not raw then return {'gone', ''} end
local j = cjson.decode(raw)
local st = j.status
if st ~= 'PENDING' and st ~= 'RETRYING' and st ~= 'RUNNING' then return {'gone', raw} end
if st == 'RUNNING' and j.lease_until ~= cjson.null and j.lease_until > now then
  return {'gone', raw}
end
if j.not_before > now then return {'not_yet', tostring(j.not_before - now)} end
if gcap >= 0 and redis.call('ZCOUNT', p..':running', '('..now, '+inf') >= gcap then
  return {'busy', '0.05'}
end
if tcap >= 0 and redis.call('ZCOUNT', p..':running_t:'..j.job_type, '('..now, '+inf') >= tcap then
  return {'busy', '0.05'}
end
if ordered == '1' and j.group_key ~= cjson.null then
  local first = redis.call('ZRANGE', p..':group:'..j.group_key, 0, 0)
  if first[1] and first[1] ~= id then return {'busy', '0.1'} end
end
if rate >= 0 then
  local k = p..':starts:'..j.job_type
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now - 5)
  local recent = redis.call('ZRANGEBYSCORE', k, '('..(now - 1), '+inf', 'WITHSCORES')
  if #recent / 2 >= rate then
    return {'busy', tostring(math.max(0.01, tonumber(recent[2]) + 1 - now))}
  end
  redis.call('ZADD', k, now, id..':'..now)
end
j.status = 'RUNNING'
j.attempts = j.attempts + 1
j.lease_until = now + lease
j.owner = worker
j.updated_at = now
local out = cjson.encode(j)
redis.call('SET', p..':job:'..id, out)
redis.call('ZADD', p..':running', now + lease, id)
redis.call('ZADD', p..':running_t:'..j.job_type, now + lease, id)
redis.call('ZREM', p..':waiting', id)
redis.call('HINCRBYFLOAT', p..':counters', 'jobs_started_total|'..j.job_type, 1)
return {'claimed', out}
"""

_RENEW = """
local p, worker, lease_end = ARGV[1], ARGV[2], tonumber(ARGV[3])
local kept = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local raw = redis.call('GET', p..':job:'..id)
  if raw then
    local j = cjson.decode(raw)
    if j.status == 'RUNNING' and j.owner == worker then
      j.lease_until = lease_end
      redis.call('SET', p..':job:'..id, cjson.encode(j))
      redis.call('ZADD', p..':running', lease_end, id)
      redis.call('ZADD', p..':running_t:'..j.job_type, lease_end, id)
      kept[#kept + 1] = id
    end
  end
end
return kept
"""

_SETTLE = """
local p, id, worker, st, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local err, kind, retry_at, bucket, duration = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local lapsed_only = ARGV[11] == '1'
local raw = redis.call('GET', p..':job:'..id)
if not raw then return false end
local j = cjson.decode(raw)
if j.status ~= 'RUNNING' then return false end
if lapsed_only then
  if j.lease_until == cjson.null or j.lease_until > now then return false end
elseif j.owner ~= worker then
  return false
end
j.status = st
j.lease_until = cjson.null
j.updated_at = now
j.dispatched_at = now
if err ~= '' then j.error = err else j.error = cjson.null end
if kind ~= '' then j.error_kind = kind else j.error_kind = cjson.null end
redis.call('ZREM', p..':running', id)
redis.call('ZREM', p..':running_t:'..j.job_type, id)
if st == 'RETRYING' then
  j.not_before = tonumber(retry_at)
  j.owner = cjson.null
  redis.call('ZADD', p..':waiting', now, id)
else
  if j.group_key ~= cjson.null then redis.call('ZREM', p..':group:'..j.group_key, id) end
  if j.unique_key ~= cjson.null and redis.call('GET', p..':uniq:'..j.unique_key) == id then
    redis.call('DEL', p..':uniq:'..j.unique_key)
  end
end
if st == 'COMPLETED' and j.progress ~= cjson.null then j.progress = 1.0 end
if st == 'DEAD' then
  local letter = {job_id = id, job_type = j.job_type, payload = j.payload, attempts = j.attempts,
                  error = err, error_kind = kind, failed_at = now}
  redis.call('SET', p..':dlq:'..id, cjson.encode(letter))
  redis.call('ZADD', p..':dlq', now, id)
  redis.call('ZADD', p..':dlq_all', now, id)
end
local field = j.job_type..'|'..st..'|'..bucket
redis.call('HINCRBY', p..':attempts', field, 1)
redis.call('HINCRBYFLOAT', p..':attempts_sum', field, duration)
if lapsed_only then
  redis.call('HINCRBYFLOAT', p..':counters', 'jobs_recovered_total|'..j.job_type, 1)
end
local out = cjson.encode(j)
redis.call('SET', p..':job:'..id, out)
if ARGV[12] == '1' then return 1 end
return out
"""

_UPDATE = """
local p, id, field, value, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local raw = redis.call('GET', p..':job:'..id)
if not raw then return 0 end
local j = cjson.decode(raw)
if field == 'progress' then j.progress = tonumber(value) else j[field] = value end
j.updated_at = now
redis.call('SET', p..':job:'..id, cjson.encode(j))
return 1
"""

_FIRE = (
    _INSERT
    + """
local p, schedule, tick, doc, skip, group, now =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1', ARGV[6], tonumber(ARGV[7])
if redis.call('ZADD', p..':ticks:'..schedule, 'NX', tick, tick) == 0 then return 0 end
if doc == '' then return 0 end
if skip and group ~= '' and redis.call('ZCARD', p..':group:'..group) > 0 then
  redis.call('HINCRBYFLOAT', p..':counters', 'schedule_skipped_total|'..schedule, 1)
  return 0
end
insert(p, doc, now)
return 1
"""
)


# The completion of a process's previous job and the claim of its next one, in one round trip.
# ARGV[1] is how many of the arguments after it are the settle script's (0: nothing to complete).
_COMPLETE_THEN_CLAIM = (
    "local function settle(ARGV)\n"
    + _SETTLE
    + "\nend\nlocal function claim(ARGV)\n"
    + _CLAIM
    + """
end
local n = tonumber(ARGV[1])
local first, rest = {}, {}
for i = 2, n + 1 do first[#first + 1] = ARGV[i] end
for i = n + 2, #ARGV do rest[#rest + 1] = ARGV[i] end
local done = 0
if n > 0 and settle(first) then done = 1 end
local out = claim(rest)
return {done, out[1], out[2]}
"""
)


def _doc(job: NewJob, now: float) -> str:
    return json.dumps(
        {
            "job_id": job.job_id,
            "job_type": job.job_type,
            "payload": dumps(job.payload),
            "queue": job.queue,
            "priority": job.priority,
            "status": JobStatus.PENDING.value,
            "attempts": 0,
            "max_attempts": job.max_attempts,
            "idempotency_key": job.idempotency_key,
            "created_at": now,
            "updated_at": now,
            "not_before": job.not_before,
            "lease_until": None,
            "owner": None,
            "error": None,
            "error_kind": None,
            "progress": None,
            "checkpoint": None,
            "group_key": job.group_key,
            "replay_of": job.replay_of,
            "effect_scope": job.scope,
            "unique_key": job.unique_key,
            "dispatched_at": now,
        }
    )


def _record(raw: str | bytes) -> JobRecord:
    d = json.loads(raw)
    checkpoint = d.get("checkpoint")
    return JobRecord(
        job_id=d["job_id"],
        job_type=d["job_type"],
        payload=json.loads(d["payload"]),
        queue=d["queue"],
        priority=int(d["priority"]),
        status=JobStatus(d["status"]),
        attempts=int(d["attempts"]),
        max_attempts=int(d["max_attempts"]),
        idempotency_key=d.get("idempotency_key"),
        created_at=float(d["created_at"]),
        updated_at=float(d["updated_at"]),
        not_before=float(d["not_before"]),
        lease_until=None if d.get("lease_until") is None else float(d["lease_until"]),
        owner=d.get("owner"),
        error=d.get("error"),
        error_kind=d.get("error_kind"),
        progress=None if d.get("progress") is None else float(d["progress"]),
        checkpoint=json.loads(checkpoint) if isinstance(checkpoint, str) else None,
        group_key=d.get("group_key"),
        replay_of=d.get("replay_of"),
        effect_scope=d["effect_scope"],
        unique_key=d.get("unique_key"),
    )


def _letter(raw: str | bytes, replayed_as: str | None) -> DeadLetter:
    d = json.loads(raw)
    return DeadLetter(
        job_id=d["job_id"],
        job_type=d["job_type"],
        payload=json.loads(d["payload"]),
        attempts=int(d["attempts"]),
        error=d["error"],
        error_kind=d["error_kind"],
        failed_at=float(d["failed_at"]),
        replayed_as=replayed_as or d.get("replayed_as"),
    )


def _limit(value: float | None) -> str:
    return "-1" if value is None else repr(value)


class RedisLedger:
    """The ledger in Redis under ``<prefix>:``, shared by workers and schedulers on many hosts."""

    def __init__(self, url: str, *, prefix: str = "jobs") -> None:
        """Connect to the Redis at ``url`` (nothing is sent until first use)."""
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, decode_responses=True)
        self._create = self.client.register_script(_CREATE)
        self._claim = self.client.register_script(_CLAIM)
        self._renew = self.client.register_script(_RENEW)
        self._settle = self.client.register_script(_SETTLE)
        self._update = self.client.register_script(_UPDATE)
        self._fire = self.client.register_script(_FIRE)
        self._complete_then_claim = self.client.register_script(_COMPLETE_THEN_CLAIM)

    def _k(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # JobStore ------------------------------------------------------------------------------

    def create(
        self,
        job: NewJob,
        *,
        now: float,
        then: Then | None = None,
        push: tuple[str, str] | None = None,
    ) -> tuple[JobRecord, bool]:
        """Record ``job`` and then run ``then`` (after the script: Redis cannot share it).

        With ``push`` (a list key and a message), the script also pushes the message onto the
        list when it records the job (a broker message published in the same atomic script).
        """
        doc = _doc(job, now)
        key, message = push or ("", "")
        args = [self.prefix, doc, job.idempotency_key or "", job.unique_key or "", repr(now)]
        args += [key, message]
        created, existing = cast("list[Any]", self._create(args=args))
        if not created:
            found = self.get(str(existing))
            if found is not None:
                return found, False
        if then is not None:
            then()
        return new_record(job, now), True

    def claim(self, job_id: str, worker: str, limits: ClaimLimits, *, now: float) -> Claim:
        """Take a job for ``worker`` if it is due and the limits allow (one script)."""
        outcome, data = cast(
            "list[str]", self._claim(args=self._claim_args(job_id, worker, limits, now))
        )
        return self._claimed(outcome, data)

    def complete_then_claim(
        self, done: Completion | None, job_id: str, worker: str, limits: ClaimLimits, *, now: float
    ) -> tuple[bool | None, Claim]:
        """Record ``done`` (as :meth:`complete`), then claim ``job_id``: one script, one trip."""
        first: list[str] = []
        if done is not None:
            result = Settlement(status=JobStatus.COMPLETED, duration_s=done.duration_s)
            first = self._settle_args(done.job_id, done.worker, result, now, False, True)
        held, outcome, data = cast(
            "list[Any]",
            self._complete_then_claim(
                args=[str(len(first)), *first, *self._claim_args(job_id, worker, limits, now)]
            ),
        )
        return (None if done is None else bool(held)), self._claimed(outcome, data)

    def _claim_args(self, job_id: str, worker: str, limits: ClaimLimits, now: float) -> list[str]:
        return [
            self.prefix,
            job_id,
            repr(now),
            repr(limits.lease_s),
            worker,
            _limit(limits.global_cap),
            _limit(limits.type_cap),
            _limit(limits.rate_per_s),
            "1" if limits.ordered_group else "0",
        ]

    @staticmethod
    def _claimed(outcome: str, data: str) -> Claim:
        if outcome == "claimed":
            return Claim(outcome=ClaimOutcome.CLAIMED, record=_record(data))
        if outcome in ("not_yet", "busy"):
            return Claim(outcome=ClaimOutcome(outcome), retry_in_s=float(data))
        return Claim(outcome=ClaimOutcome.GONE, record=_record(data) if data else None)

    def renew(self, job_ids: Sequence[str], worker: str, lease_s: float, *, now: float) -> set[str]:
        """Extend the claims ``worker`` holds on ``job_ids``; return the ids still held."""
        if not job_ids:
            return set()
        kept = self._renew(args=[self.prefix, worker, repr(now + lease_s), *job_ids])
        return set(cast("list[str]", kept))

    def settle(
        self, job_id: str, worker: str, result: Settlement, *, now: float, then: Then | None = None
    ) -> JobRecord | None:
        """Record how an attempt ended, then run ``then``; None when the claim was lost."""
        record = self._settle_one(job_id, worker, result, now, lapsed_only=False)
        if record is not None and then is not None:
            then()
        return record

    def complete(
        self, job_id: str, worker: str, job_type: str, duration_s: float, *, now: float
    ) -> bool:
        """Record a completed attempt (the settle script, answering only whether it held)."""
        done = Settlement(status=JobStatus.COMPLETED, duration_s=duration_s)
        return bool(self._settle(args=self._settle_args(job_id, worker, done, now, False, True)))

    def _settle_one(
        self, job_id: str, worker: str, result: Settlement, now: float, *, lapsed_only: bool
    ) -> JobRecord | None:
        out = self._settle(args=self._settle_args(job_id, worker, result, now, lapsed_only, False))
        return None if not out else _record(cast("str", out))

    def _settle_args(
        self,
        job_id: str,
        worker: str,
        result: Settlement,
        now: float,
        lapsed_only: bool,
        brief: bool,
    ) -> list[str]:
        return [
            self.prefix,
            job_id,
            worker,
            result.status.value,
            repr(now),
            result.error or "",
            result.error_kind or "",
            "" if result.retry_at is None else repr(result.retry_at),
            repr(min(bucket_of(result.duration_s), 1e308)),
            repr(result.duration_s),
            "1" if lapsed_only else "0",
            "1" if brief else "0",
        ]

    def get(self, job_id: str) -> JobRecord | None:
        """Return one job or None."""
        raw = self.client.get(self._k("job", job_id))
        return None if raw is None else _record(cast("str", raw))

    # JobStateStore -------------------------------------------------------------------------

    def set_progress(self, job_id: str, fraction: float, *, now: float) -> None:
        """Publish progress 0.0..1.0."""
        value = repr(min(1.0, max(0.0, fraction)))
        self._update(args=[self.prefix, job_id, "progress", value, repr(now)])

    def save_checkpoint(self, job_id: str, state: JSONObject, *, now: float) -> None:
        """Persist a checkpoint for later attempts of the same job."""
        self._update(args=[self.prefix, job_id, "checkpoint", dumps(state), repr(now)])

    def claim_effect(self, scope: str, key: str, *, now: float) -> bool:
        """Return True the first time ``key`` is claimed within ``scope``."""
        return bool(self.client.sadd(self._k("effects", scope), key))

    # RecoveryStore -------------------------------------------------------------------------

    def reap(self, *, now: float, retry_at: float) -> list[JobRecord]:
        """Take back jobs whose claim lapsed; return them, now RETRYING or DEAD."""
        taken: list[JobRecord] = []
        for job_id in cast("list[str]", self.client.zrangebyscore(self._k("running"), "-inf", now)):
            record = self.get(job_id)
            if record is None:
                self.client.zrem(self._k("running"), job_id)
                continue
            retry = record.attempts < record.max_attempts
            result = Settlement(
                status=JobStatus.RETRYING if retry else JobStatus.DEAD,
                duration_s=max(0.0, now - record.updated_at),
                error=f"worker {record.owner} lost the job (its claim lapsed)",
                error_kind="transient",
                retry_at=retry_at if retry else None,
            )
            settled = self._settle_one(job_id, "", result, now, lapsed_only=True)
            if settled is not None:
                taken.append(settled)
        return taken

    def stale(self, *, now: float, stale_s: float) -> list[JobRecord]:
        """Return due jobs not dispatched for ``stale_s`` (their message was lost), re-marked."""
        waiting = self._k("waiting")
        ids = cast("list[str]", self.client.zrangebyscore(waiting, "-inf", now - stale_s, 0, 200))
        found: list[JobRecord] = []
        for job_id in ids:
            record = self.get(job_id)
            if record is None or record.not_before > now:
                continue
            self.client.zadd(waiting, {job_id: now}, xx=True)
            found.append(record)
        return found

    def beat(self, worker: str, *, now: float) -> None:
        """Record that ``worker`` is alive."""
        self.client.zadd(self._k("workers"), {worker: now})

    def live_workers(self, *, since: float) -> list[str]:
        """Return the workers seen alive at or after ``since``."""
        return sorted(
            cast("list[str]", self.client.zrangebyscore(self._k("workers"), since, "+inf"))
        )

    # DeadLetterStore -----------------------------------------------------------------------

    def dead_letters(self, *, limit: int = 100, include_replayed: bool = False) -> list[DeadLetter]:
        """List dead letters, newest first."""
        index = self._k("dlq_all" if include_replayed else "dlq")
        ids = cast("list[str]", self.client.zrevrange(index, 0, limit - 1))
        return [letter for job_id in ids if (letter := self.dead_letter(job_id)) is not None]

    def dead_letter(self, job_id: str) -> DeadLetter | None:
        """Return one dead letter or None."""
        raw = self.client.get(self._k("dlq", job_id))
        replayed = cast("str | None", self.client.hget(self._k("replayed"), job_id))
        return None if raw is None else _letter(cast("str", raw), replayed)

    def mark_replayed(self, job_id: str, new_job_id: str) -> None:
        """Record that a dead letter was replayed as ``new_job_id``."""
        pipe = self.client.pipeline()
        pipe.hset(self._k("replayed"), job_id, new_job_id)
        pipe.zrem(self._k("dlq"), job_id)
        pipe.execute()

    def purge(self, *, before: float | None = None) -> int:
        """Delete dead letters (older than ``before`` when given); return how many."""
        top = "+inf" if before is None else f"({before!r}"
        ids = cast("list[str]", self.client.zrangebyscore(self._k("dlq_all"), "-inf", top))
        if not ids:
            return 0
        pipe = self.client.pipeline()
        pipe.zrem(self._k("dlq_all"), *ids)
        pipe.zrem(self._k("dlq"), *ids)
        pipe.delete(*(self._k("dlq", i) for i in ids))
        pipe.hdel(self._k("replayed"), *ids)
        pipe.execute()
        return len(ids)

    # ScheduleStore -------------------------------------------------------------------------

    def last_tick(self, schedule: str) -> float | None:
        """Return the latest tick handled for ``schedule``."""
        top = cast(
            "list[tuple[str, float]]",
            self.client.zrange(self._k("ticks", schedule), -1, -1, withscores=True),
        )
        return None if not top else float(top[0][1])

    def fire(
        self,
        schedule: str,
        tick: float,
        job: NewJob | None,
        *,
        skip_if_active: bool,
        now: float,
        then: Then | None = None,
    ) -> bool:
        """Claim ``tick`` once across schedulers and record ``job``, then run ``then``."""
        doc = "" if job is None else _doc(job, now)
        group = "" if job is None or job.group_key is None else job.group_key
        fired = self._fire(
            args=[
                self.prefix,
                schedule,
                repr(tick),
                doc,
                "1" if skip_if_active else "0",
                group,
                repr(now),
            ]
        )
        if fired and then is not None:
            then()
        return bool(fired)

    # StatsStore ----------------------------------------------------------------------------

    def counters(self) -> Mapping[tuple[str, str], float]:
        """Return every counter keyed by (name, job_type), settlement counters derived."""
        names = {
            "COMPLETED": "jobs_completed_total",
            "RETRYING": "jobs_retried_total",
            "DEAD": "jobs_dead_total",
            "FAILED": "jobs_failed_total",
        }
        found: dict[tuple[str, str], float] = {}
        for field, value in cast(
            "dict[str, str]", self.client.hgetall(self._k("counters"))
        ).items():
            name, _, label = field.partition("|")
            found[(name, label)] = float(value)
        for field, n in cast("dict[str, str]", self.client.hgetall(self._k("attempts"))).items():
            job_type, outcome, _ = field.split("|")
            key = (names[outcome], job_type)
            found[key] = found.get(key, 0.0) + float(n)
            if outcome != "COMPLETED":
                failed = ("jobs_attempts_failed_total", job_type)
                found[failed] = found.get(failed, 0.0) + float(n)
        return found

    def durations(self) -> Mapping[str, Mapping[float, tuple[int, float]]]:
        """Return per job type: bucket upper bound -> (attempts in that bucket, their sum)."""
        counts = cast("dict[str, str]", self.client.hgetall(self._k("attempts")))
        sums = cast("dict[str, str]", self.client.hgetall(self._k("attempts_sum")))
        found: dict[str, dict[float, tuple[int, float]]] = {}
        for field, n in counts.items():
            job_type, _, bucket = field.split("|")
            bound = float(bucket)
            bound = float("inf") if bound >= 1e308 else bound
            before = found.setdefault(job_type, {}).get(bound, (0, 0.0))
            found[job_type][bound] = (before[0] + int(n), before[1] + float(sums.get(field, 0)))
        return found

    def gauges(self) -> Mapping[str, float]:
        """Return queue_depth, running and dlq_size as of now."""
        pipe = self.client.pipeline()
        pipe.zcard(self._k("waiting"))
        pipe.zcard(self._k("running"))
        pipe.zcard(self._k("dlq"))
        waiting, running, dlq = pipe.execute()
        return {"queue_depth": float(waiting), "running": float(running), "dlq_size": float(dlq)}

    def add_alert(self, alert: Alert) -> None:
        """Record an alert."""
        doc = {
            "kind": alert.kind,
            "job_id": alert.job_id,
            "message": alert.message,
            "at": alert.at,
            "details": alert.details,
        }
        self.client.rpush(self._k("alerts"), json.dumps(doc))

    def alerts(self) -> Sequence[Alert]:
        """Return recorded alerts, oldest first."""
        rows = cast("list[str]", self.client.lrange(self._k("alerts"), 0, -1))
        return [Alert(**json.loads(row)) for row in rows]

    def list_jobs(self, *, status: JobStatus | None = None, limit: int = 100) -> list[JobRecord]:
        """List jobs, newest first (scanning at most ten times ``limit`` when filtered)."""
        span = limit if status is None else limit * 10
        ids = cast("list[str]", self.client.zrevrange(self._k("jobs"), 0, span - 1))
        if not ids:
            return []
        raws = cast("list[str | None]", self.client.mget([self._k("job", i) for i in ids]))
        records = [_record(raw) for raw in raws if raw is not None]
        return [r for r in records if status is None or r.status is status][:limit]

    def ping(self) -> bool:
        """Return True when Redis answers."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False
