//! Small single-threaded synchronisation pieces for one executor: a slab of
//! pending replies that connection tasks await, and a wake-up list. Nothing
//! here is `Send`; it never crosses cores.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use cachecat_io::Reply;
use cachecat_shards::cmd::Merge;

struct Slot {
    reply: Option<Reply>,
    waker: Option<Waker>,
    /// Replies still expected (several for whole-database commands).
    parts_left: u32,
    merge: Merge,
    live: bool,
    /// Non-nil parts seen so far (AnyNonNil's reservoir sampling).
    seen: u64,
    /// The waiter is gone: free the slot once the reply is complete.
    abandoned: bool,
}

/// Replies this core's connections are waiting for, by request id.
#[derive(Default)]
pub struct Pending {
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<u32>>,
}

impl Pending {
    /// Reserve a request id for a reply made of `parts` parts combined by
    /// `merge`.
    pub fn register(&self, parts: u32, merge: Merge) -> u32 {
        let slot = Slot {
            reply: None,
            waker: None,
            parts_left: parts,
            merge,
            live: true,
            seen: 0,
            abandoned: false,
        };
        let mut slots = self.slots.borrow_mut();
        match self.free.borrow_mut().pop() {
            Some(i) => {
                slots[i as usize] = slot;
                i
            }
            None => {
                slots.push(slot);
                (slots.len() - 1) as u32
            }
        }
    }

    /// Deliver one part of request `req`'s reply.
    pub fn complete(&self, req: u32, reply: Reply) {
        let mut slots = self.slots.borrow_mut();
        let Some(s) = slots.get_mut(req as usize).filter(|s| s.live) else {
            return;
        };
        if let Merge::AnyNonNil(seed) = s.merge {
            // Reservoir sampling: the k-th non-nil part replaces the choice
            // with probability 1/k, so every non-nil part is equally likely.
            if !matches!(reply, Reply::Nil) {
                s.seen += 1;
                if s.reply.is_none() || mix(seed ^ s.seen).is_multiple_of(s.seen) {
                    s.reply = Some(reply);
                }
            } else if s.reply.is_none() {
                s.reply = Some(reply);
            }
        } else {
            s.reply = Some(match s.reply.take() {
                None => reply,
                Some(acc) => merge(s.merge, acc, reply),
            });
        }
        s.parts_left = s.parts_left.saturating_sub(1);
        if s.parts_left == 0 && s.abandoned {
            s.live = false;
            s.reply = None;
            self.free.borrow_mut().push(req);
            return;
        }
        if s.parts_left == 0 {
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        }
    }

    /// Nobody will wait for request `req` any more (its client left): free
    /// it now if its reply is complete, else when the reply completes.
    pub fn abandon(&self, req: u32) {
        let mut slots = self.slots.borrow_mut();
        let s = &mut slots[req as usize];
        if s.parts_left == 0 {
            s.live = false;
            s.reply = None;
            self.free.borrow_mut().push(req);
        } else {
            s.abandoned = true;
        }
    }

    /// The reply if all parts arrived, freeing the id.
    fn take(&self, req: u32, cx: Option<&Context<'_>>) -> Option<Reply> {
        let mut slots = self.slots.borrow_mut();
        let s = &mut slots[req as usize];
        if s.parts_left == 0 {
            s.live = false;
            self.free.borrow_mut().push(req);
            return s.reply.take();
        }
        if let Some(cx) = cx {
            s.waker = Some(cx.waker().clone());
        }
        None
    }

    /// Wait for request `req`'s reply.
    pub fn wait(&self, req: u32) -> WaitReply<'_> {
        WaitReply { pending: self, req }
    }
}

/// A 64-bit mix (splitmix64's finaliser) for seeded choices.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Combine two partial replies of a whole-database command.
fn merge(how: Merge, acc: Reply, next: Reply) -> Reply {
    if acc.is_error() {
        return acc;
    }
    if next.is_error() {
        return next;
    }
    match (how, acc, next) {
        (Merge::Concat, Reply::Array(mut a), Reply::Array(b)) => {
            a.extend(b);
            Reply::Array(a)
        }
        (Merge::Sum, Reply::Int(a), Reply::Int(b)) => Reply::Int(a.wrapping_add(b)),
        (Merge::SumEach, Reply::Array(a), Reply::Array(b)) => Reply::Array(
            a.into_iter()
                .zip(b)
                .map(|(x, y)| match (x, y) {
                    (Reply::Int(x), Reply::Int(y)) => Reply::Int(x + y),
                    (x, _) => x,
                })
                .collect(),
        ),
        (_, a, _) => a,
    }
}

pub struct WaitReply<'a> {
    pending: &'a Pending,
    req: u32,
}

impl Future for WaitReply<'_> {
    type Output = Reply;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        match self.pending.take(self.req, Some(cx)) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

/// Tasks waiting for a condition to change; `wake_all` wakes every one, and
/// each re-checks its condition.
#[derive(Default)]
pub struct WaitList {
    wakers: RefCell<Vec<Waker>>,
}

impl WaitList {
    pub fn wake_all(&self) {
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Resolve once `ready()` holds (checked now and after every wake-up).
    pub fn until<F: Fn() -> bool>(&self, ready: F) -> Until<'_, F> {
        Until { list: self, ready }
    }
}

pub struct Until<'a, F> {
    list: &'a WaitList,
    ready: F,
}

impl<F: Fn() -> bool> Future for Until<'_, F> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if (self.ready)() {
            Poll::Ready(())
        } else {
            // A task that polls again (or drops this future and waits anew)
            // is registered once, so the list cannot grow without bound.
            let mut w = self.list.wakers.borrow_mut();
            if !w.iter().any(|x| x.will_wake(cx.waker())) {
                w.push(cx.waker().clone());
            }
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_database_replies_merge() {
        let p = Pending::default();
        let keys = p.register(2, Merge::Concat);
        p.complete(keys, Reply::Array(vec![Reply::Int(1)]));
        assert!(p.take(keys, None).is_none(), "one part still missing");
        p.complete(keys, Reply::Array(vec![Reply::Int(2)]));
        assert_eq!(
            p.take(keys, None),
            Some(Reply::Array(vec![Reply::Int(1), Reply::Int(2)]))
        );

        let size = p.register(2, Merge::Sum);
        p.complete(size, Reply::Int(3));
        p.complete(size, Reply::Int(4));
        assert_eq!(p.take(size, None), Some(Reply::Int(7)));

        let any = p.register(2, Merge::AnyNonNil(7));
        p.complete(any, Reply::Nil);
        p.complete(any, Reply::bulk(b"k".to_vec()));
        assert_eq!(p.take(any, None), Some(Reply::bulk(b"k".to_vec())));

        let each = p.register(2, Merge::SumEach);
        p.complete(each, Reply::Array(vec![Reply::Int(1), Reply::Int(2)]));
        p.complete(each, Reply::Array(vec![Reply::Int(10), Reply::Int(20)]));
        assert_eq!(
            p.take(each, None),
            Some(Reply::Array(vec![Reply::Int(11), Reply::Int(22)]))
        );

        let failed = p.register(2, Merge::Ok);
        p.complete(failed, Reply::Ok);
        p.complete(failed, Reply::err("ERR boom"));
        assert_eq!(p.take(failed, None), Some(Reply::err("ERR boom")));
    }

    #[test]
    fn abandoned_requests_free_their_slot() {
        let p = Pending::default();
        let a = p.register(1, Merge::Single);
        p.abandon(a);
        p.complete(a, Reply::Ok);
        assert_eq!(
            p.register(1, Merge::Single),
            a,
            "slot reused after the late reply"
        );
        let b = p.register(1, Merge::Single);
        p.complete(b, Reply::Ok);
        p.abandon(b);
        assert_eq!(p.register(1, Merge::Single), b);
    }

    #[test]
    fn request_ids_are_reused() {
        let p = Pending::default();
        let a = p.register(1, Merge::Single);
        p.complete(a, Reply::Ok);
        assert_eq!(p.take(a, None), Some(Reply::Ok));
        let b = p.register(1, Merge::Single);
        assert_eq!(a, b);
        // A second reply for a single-part request does not replace the first.
        p.complete(b, Reply::Int(1));
        p.complete(b, Reply::Int(2));
        assert_eq!(p.take(b, None), Some(Reply::Int(1)));
    }
}
