/* SPDX-License-Identifier: MIT */
/*
 * framecache.c - decoded shared frames (packs, pack.c), kept per process.
 *
 * Reading one member of a frame decodes the whole frame (at most
 * STORE_PACK_RAW bytes). The process keeps up to SLOTS decoded frames,
 * shared by its threads, so reading the files of one directory, or the
 * pages of a big library faulted in at random, decodes each frame once
 * whichever threads serve the reads (32 slots take the large workload's
 * python imports from 211 decodes to 120 of its 115 frames; 8 took them
 * to 211). A frame is decoded straight into its slot; a thread that
 * wants a frame another reader is decoding waits for it rather than
 * decoding it again (for readahead's decoding at most RA_WAIT_NS: that
 * thread may be starved of CPU). Readers pin a slot while they copy a member
 * out, so copies run in parallel and a pinned slot is never reused.
 *
 * Readahead (store_frame_readahead; blastfs turns it on): pack ids
 * follow the order frames were written, which for imports and compaction
 * is the order readers meet files (import.c order_files). So when a read
 * has to decode frame X itself, or first uses a frame read ahead, a
 * thread of its own decodes the next RA_AHEAD frames, at SCHED_IDLE and
 * yielding between steps (pack.c), on CPU time the reader leaves idle
 * while it waits for its other requests: tar, or a package's imports,
 * then find the frames decoded.
 *
 * Slots are keyed by the store's serial (unique in the process, where a
 * store closed and another opened may share an address) and the pack id,
 * never reused in a store; every member read is still checked against its
 * own hash, so a slot gone wrong can only cost a second decode, never
 * wrong bytes. Buffers are mapped when a slot is
 * first filled, populated at once (MAP_POPULATE: on this VM a page fault
 * costs 11.7 us, a populated page 0.86 us, so a megabyte faulted in page
 * by page was 3 ms of a cold read); the readahead thread, when idle,
 * unmaps the ones unused for IDLE_S (store_frame_cache_trim does it on
 * demand).
 */
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <xxhash.h>

#include "store_internal.h"

#define SLOTS	 32
#define RA_AHEAD 2 /* frames decoded ahead of the reader */
#define RA_QUEUE 4 /* frames whose followers are wanted */
/* how long a reader waits for readahead to finish a frame it needs (a
 * decode takes about 1 ms here) before it decodes the frame itself */
#define RA_WAIT_NS (2 * 1000 * 1000)
#define IDLE_S	   10 /* the readahead thread unmaps slots unused this long */

enum slot_state { SLOT_EMPTY, SLOT_FILLING, SLOT_READY };

struct slot {
	uint64_t serial; /* of the store (store.c), 0: none */
	uint64_t id;
	enum slot_state state;
	unsigned pins;	    /* readers copying out, or its filler */
	bool ahead;	    /* filled by readahead, not read since */
	bool by_ra;	    /* FILLING: by the readahead thread */
	uint64_t used;	    /* LRU order */
	uint64_t used_ns;   /* CLOCK_MONOTONIC of the last use (trim) */
	size_t len;	    /* decoded bytes (READY) */
	unsigned char *buf; /* STORE_PACK_RAW bytes mapped, or NULL */
};

static struct slot slots[SLOTS]; /* under lock */
static uint64_t lru_clock;	 /* under lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t settled = PTHREAD_COND_INITIALIZER; /* a fill ended */

/* The readahead thread (one store per process). Under lock. */
static struct {
	struct store *st; /* NULL: off */
	pthread_t thread;
	bool stop;
	uint64_t after[RA_QUEUE]; /* read the frames after these */
	size_t n;
	pthread_cond_t cv;
} ra = {.cv = PTHREAD_COND_INITIALIZER};

static size_t trim_locked(uint64_t idle_ns);

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * STORE_NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void touch(struct slot *s)
{
	s->used = ++lru_clock;
	s->used_ns = mono_ns();
}

/* Under lock: the slot holding (st, id) READY, else one filling it (a
 * reader's fill before readahead's), or NULL. */
static struct slot *find(const struct store *st, uint64_t id)
{
	struct slot *f = NULL;

	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->state == SLOT_EMPTY || s->serial != st->serial ||
		    s->id != id)
			continue;
		if (s->state == SLOT_READY)
			return s;
		if (!f || (f->by_ra && !s->by_ra))
			f = s;
	}
	return f;
}

/* Under lock: the slot to fill next (an empty one, else the least
 * recently used one nobody pins), or NULL when all are busy. */
static struct slot *victim(void)
{
	struct slot *v = NULL;

	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->pins || s->state == SLOT_FILLING)
			continue;
		if (s->state == SLOT_EMPTY)
			return s;
		if (!v || s->used < v->used)
			v = s;
	}
	return v;
}

/* Under lock: make victim s the slot (st, id) is decoded into, pinned by
 * its filler (readahead's if by_ra). */
static void claim(struct slot *s, const struct store *st, uint64_t id,
		  bool by_ra)
{
	s->serial = st->serial;
	s->id = id;
	s->state = SLOT_FILLING;
	s->by_ra = by_ra;
	s->pins = 1;
	s->ahead = false;
	s->len = 0;
	touch(s);
}

/* Under lock: ask the readahead thread for the frames after id. */
static void ra_want(const struct store *st, uint64_t id)
{
	if (ra.st != st)
		return;
	for (size_t i = 0; i < ra.n; i++)
		if (ra.after[i] == id)
			return;
	if (ra.n == RA_QUEUE) /* the oldest wish goes */
		memmove(ra.after, ra.after + 1, --ra.n * sizeof(*ra.after));
	ra.after[ra.n++] = id;
	pthread_cond_signal(&ra.cv);
}

/* Under lock: pin the slot of (st, id), READY (*fill false) or claimed
 * for us to fill (*fill true); NULL when every slot is busy. */
static struct slot *pin(const struct store *st, uint64_t id, bool *fill)
{
	struct slot *s;
	struct timespec dl = {0, 0}; /* for readahead's fill, once needed */
	bool timed_out = false;

	while ((s = find(st, id)) && s->state == SLOT_FILLING &&
	       !(s->by_ra && timed_out)) {
		if (!s->by_ra) {
			pthread_cond_wait(&settled, &lock);
			continue;
		}
		if (!dl.tv_sec) {
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += RA_WAIT_NS;
			dl.tv_sec += dl.tv_nsec / STORE_NS_PER_S;
			dl.tv_nsec %= STORE_NS_PER_S;
		}
		if (pthread_cond_timedwait(&settled, &lock, &dl) == ETIMEDOUT)
			timed_out = true;
	}
	if (s && s->state == SLOT_READY) {
		s->pins++;
		touch(s);
		*fill = false;
		if (s->ahead) { /* the reader caught up: read further */
			s->ahead = false;
			ra_want(st, id);
		}
		return s;
	}
	/* not there, or readahead has been decoding it for RA_WAIT_NS:
	 * readahead runs at SCHED_IDLE and can wait long for a CPU on a busy
	 * machine, so the reader decodes the frame itself */
	s = victim();
	if (s) {
		claim(s, st, id, false);
		*fill = true;
	}
	return s;
}

/* Decode pack id into s (FILLING, pinned by us); then READY, or EMPTY on
 * failure, and the waiters woken. */
static int fill(struct store_txn *t, uint64_t id, struct slot *s, bool ahead)
{
	size_t len = 0;
	int err = 0;

	if (!s->buf) { /* only the filler touches a FILLING slot's buffer */
		void *m =
		    mmap(NULL, STORE_PACK_RAW, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (m == MAP_FAILED)
			err = -ENOMEM;
		else
			s->buf = m;
	}
	if (!err)
		err = store_pack_decode(t, id, s->buf, &len, ahead);
	pthread_mutex_lock(&lock);
	s->state = err ? SLOT_EMPTY : SLOT_READY;
	s->ahead = ahead && !err;
	s->len = len;
	if (!err && !ahead) /* a reader had to wait for it: read ahead */
		ra_want(t->st, id);
	if (err)
		s->serial = 0;
	pthread_cond_broadcast(&settled);
	pthread_mutex_unlock(&lock);
	return err;
}

static void unpin(struct slot *s, bool stale)
{
	pthread_mutex_lock(&lock);
	s->pins--;
	if (stale) /* nobody finds it again; reused once unpinned */
		s->serial = 0;
	pthread_mutex_unlock(&lock);
}

/* Copy the member out of a READY slot we pin: 0, or 1 when its bytes do
 * not match (a stale slot, or a corrupt member). */
static int copy_out(const struct slot *s, uint32_t off, void *dst, size_t len,
		    uint64_t check)
{
	if (off > s->len || len > s->len - off)
		return 1;
	memcpy(dst, s->buf + off, len);
	return XXH3_64bits(dst, len) != check;
}

int store_frame_cache_read(struct store_txn *t, uint64_t id, uint32_t off,
			   void *dst, size_t len, uint64_t check)
{
	const struct store *st = t->st;
	int err = 0, bad = 1;

	for (int tries = 0; tries < 2 && bad; tries++) {
		struct slot *s;
		bool filling;

		pthread_mutex_lock(&lock);
		s = pin(st, id, &filling);
		pthread_mutex_unlock(&lock);
		if (!s) /* every slot busy: decode into a buffer of our own */
			return store_pack_read_uncached(t, id, off, dst, len,
							check);
		if (filling)
			err = fill(t, id, s, false);
		if (err) {
			unpin(s, false);
			return err;
		}
		bad = copy_out(s, off, dst, len, check);
		unpin(s, bad);
	}
	return bad ? store_pack_member_bad(t, id) : 0;
}

/* Readahead: decode the RA_AHEAD frames after id that no slot holds. */
static void ra_fill(struct store *st, uint64_t id)
{
	unsigned char kb[8];
	MDB_val k = {8, kb}, v;
	struct store_txn *t;
	MDB_cursor *cur;
	int rc;

	if (store_txn_begin(st, false, &t))
		return;
	if (mdb_cursor_open(t->txn, sdb(t, DB_PACKS), &cur)) {
		store_txn_abort(t);
		return;
	}
	put_be64(kb, id + 1);
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	for (int i = 0; i < RA_AHEAD && !rc && k.mv_size == 8; i++) {
		uint64_t next = get_be64(k.mv_data);
		struct slot *s = NULL;

		pthread_mutex_lock(&lock);
		if (!ra.stop && !find(st, next) && (s = victim()))
			claim(s, st, next, true);
		pthread_mutex_unlock(&lock);
		if (s) {
			fill(t, next, s, true);
			unpin(s, false);
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	store_txn_abort(t);
}

static void *ra_main(void *arg)
{
	struct store *st = arg;
	struct sched_param sp = {0};

	/* only CPU time nobody else wants; the reader comes first */
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	pthread_mutex_lock(&lock);
	while (!ra.stop) {
		uint64_t id;

		if (!ra.n) {
			/* idle: now and then, give back the frames no read
			 * wanted for IDLE_S */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += IDLE_S;
			if (pthread_cond_timedwait(&ra.cv, &lock, &ts) ==
			    ETIMEDOUT)
				trim_locked((uint64_t)IDLE_S * STORE_NS_PER_S);
			continue;
		}
		id = ra.after[--ra.n]; /* the newest: where the reader is */
		pthread_mutex_unlock(&lock);
		ra_fill(st, id);
		pthread_mutex_lock(&lock);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int store_frame_readahead(struct store *st, bool on)
{
	int err = 0;

	pthread_mutex_lock(&lock);
	if (on && !ra.st) {
		ra.st = st;
		ra.stop = false;
		ra.n = 0;
		if (pthread_create(&ra.thread, NULL, ra_main, st)) {
			ra.st = NULL;
			err = -EAGAIN;
		}
	} else if (on) {
		err = ra.st == st ? 0 : -EBUSY;
	} else if (ra.st == st) {
		ra.stop = true;
		pthread_cond_signal(&ra.cv);
		pthread_mutex_unlock(&lock);
		pthread_join(ra.thread, NULL);
		pthread_mutex_lock(&lock);
		ra.st = NULL;
	}
	pthread_mutex_unlock(&lock);
	return err;
}

/* Under lock: unmap the slots unused for idle_ns; the bytes given back. */
static size_t trim_locked(uint64_t idle_ns)
{
	uint64_t now = mono_ns();
	size_t freed = 0;

	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];

		/* pins first: a filler sets buf outside the lock */
		if (!s->pins && s->state != SLOT_FILLING && s->buf &&
		    now - s->used_ns >= idle_ns) {
			munmap(s->buf, STORE_PACK_RAW);
			s->buf = NULL;
			s->serial = 0;
			s->state = SLOT_EMPTY;
			freed += STORE_PACK_RAW;
		}
	}
	return freed;
}

size_t store_frame_cache_trim(uint64_t idle_ns)
{
	size_t freed;

	pthread_mutex_lock(&lock);
	freed = trim_locked(idle_ns);
	pthread_mutex_unlock(&lock);
	return freed;
}
