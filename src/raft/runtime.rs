//! openraft's `AsyncRuntime` on glommio.
//!
//! openraft is built with its `single-threaded` feature, which drops the
//! `Send` bounds, so its tasks run on the raft core's glommio executor like
//! every other task there. Tasks are glommio local tasks, timers are glommio
//! timers, and the channels and mutex are tokio's `sync` primitives, which
//! need no tokio runtime. `openraft_rt::testing::Suite` runs against this
//! runtime in `cargo test`.
//!
//! A spawned task is detached at once (dropping a glommio task handle would
//! cancel it, while openraft expects a dropped handle to leave the task
//! running); its result travels back through a oneshot channel.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use glommio::timer::Timer;
use openraft_rt::{
    AsyncRuntime, MpscReceiver, MpscSender, MpscWeakSender, OneshotSender, OptionalSend,
    OptionalSync, TryRecvError, WatchReceiver, WatchSender,
};
use tokio::sync::{mpsc, oneshot, watch};

/// openraft's runtime on the current glommio executor.
#[derive(Debug, Default)]
pub struct GlommioRuntime;

/// A spawned task ended without a result (its executor stopped).
#[derive(Debug)]
pub struct JoinError;

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task ended without a result")
    }
}

/// The result of a spawned task.
pub struct JoinHandle<T>(oneshot::Receiver<T>);

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.map_err(|_| JoinError))
    }
}

/// A glommio timer whose output openraft does not need.
pub struct Sleep(Timer);

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

fn until(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// A future that did not finish in time.
#[derive(Debug)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

pin_project_lite::pin_project! {
    /// `fut`, or `Elapsed` once the timer fires first.
    pub struct Timeout<F> {
        #[pin]
        fut: F,
        timer: Timer,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        Pin::new(this.timer).poll(cx).map(|_| Err(Elapsed))
    }
}

impl AsyncRuntime for GlommioRuntime {
    type JoinError = JoinError;
    type JoinHandle<T: OptionalSend + 'static> = JoinHandle<T>;
    type Sleep = Sleep;
    type Instant = Instant;
    type TimeoutError = Elapsed;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = Timeout<T>;
    type ThreadLocalRng = rand::rngs::ThreadRng;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        let (tx, rx) = oneshot::channel();
        glommio::spawn_local(async move {
            let _ = tx.send(future.await);
        })
        .detach();
        JoinHandle(rx)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        Sleep(Timer::new(duration))
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        Sleep(Timer::new(until(deadline)))
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        Timeout {
            fut: future,
            timer: Timer::new(duration),
        }
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        Self::timeout(until(deadline), future)
    }

    /// The server aborts on panic (release profile): a task never reports one.
    fn is_panic(_: &Self::JoinError) -> bool {
        false
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        rand::rng()
    }

    type Mpsc = Mpsc;
    type Watch = Watch;
    type Oneshot = Oneshot;
    type Mutex<T: OptionalSend + 'static> = Mutex<T>;

    fn new(_threads: usize) -> Self {
        GlommioRuntime
    }

    /// Run `future` on a new glommio executor on this thread (tests and
    /// tools; the server runs openraft inside its existing executors).
    fn block_on<F, T>(&mut self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        glommio::LocalExecutorBuilder::default()
            .make()
            .expect("a glommio executor")
            .run(future)
    }
}

/// Bounded channels (tokio's, runtime-agnostic).
pub struct Mpsc;

pub struct Sender<T>(mpsc::Sender<T>);
pub struct Receiver<T>(mpsc::Receiver<T>);
pub struct WeakSender<T>(mpsc::WeakSender<T>);

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender(self.0.clone())
    }
}

impl openraft_rt::Mpsc for Mpsc {
    type Sender<T: OptionalSend> = Sender<T>;
    type Receiver<T: OptionalSend> = Receiver<T>;
    type WeakSender<T: OptionalSend> = WeakSender<T>;

    fn channel<T: OptionalSend>(buffer: usize) -> (Self::Sender<T>, Self::Receiver<T>) {
        let (tx, rx) = mpsc::channel(buffer);
        (Sender(tx), Receiver(rx))
    }
}

impl<T: OptionalSend> MpscSender<Mpsc, T> for Sender<T> {
    async fn send(&self, msg: T) -> Result<(), openraft_rt::SendError<T>> {
        self.0
            .send(msg)
            .await
            .map_err(|e| openraft_rt::SendError(e.0))
    }

    fn downgrade(&self) -> WeakSender<T> {
        WeakSender(self.0.downgrade())
    }
}

impl<T: OptionalSend> MpscReceiver<T> for Receiver<T> {
    fn recv(&mut self) -> impl Future<Output = Option<T>> + OptionalSend {
        self.0.recv()
    }

    fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.0.try_recv().map_err(|e| match e {
            mpsc::error::TryRecvError::Empty => TryRecvError::Empty,
            mpsc::error::TryRecvError::Disconnected => TryRecvError::Disconnected,
        })
    }
}

impl<T: OptionalSend> MpscWeakSender<Mpsc, T> for WeakSender<T> {
    fn upgrade(&self) -> Option<Sender<T>> {
        self.0.upgrade().map(Sender)
    }
}

/// Watch channels (tokio's).
pub struct Watch;

pub struct WatchTx<T>(watch::Sender<T>);
pub struct WatchRx<T>(watch::Receiver<T>);

impl<T> Clone for WatchTx<T> {
    fn clone(&self) -> Self {
        WatchTx(self.0.clone())
    }
}

impl<T> Clone for WatchRx<T> {
    fn clone(&self) -> Self {
        WatchRx(self.0.clone())
    }
}

impl openraft_rt::Watch for Watch {
    type Sender<T: OptionalSend + OptionalSync> = WatchTx<T>;
    type Receiver<T: OptionalSend + OptionalSync> = WatchRx<T>;
    type Ref<'a, T: OptionalSend + 'a> = watch::Ref<'a, T>;

    fn channel<T: OptionalSend + OptionalSync>(init: T) -> (Self::Sender<T>, Self::Receiver<T>) {
        let (tx, rx) = watch::channel(init);
        (WatchTx(tx), WatchRx(rx))
    }
}

impl<T: OptionalSend + OptionalSync> WatchSender<Watch, T> for WatchTx<T> {
    fn send(&self, value: T) -> Result<(), openraft_rt::watch::SendError<T>> {
        self.0
            .send(value)
            .map_err(|e| openraft_rt::watch::SendError(e.0))
    }

    fn send_if_modified<F>(&self, modify: F) -> bool
    where
        F: FnOnce(&mut T) -> bool,
    {
        self.0.send_if_modified(modify)
    }

    fn borrow_watched(&self) -> watch::Ref<'_, T> {
        self.0.borrow()
    }

    fn subscribe(&self) -> WatchRx<T> {
        WatchRx(self.0.subscribe())
    }
}

impl<T: OptionalSend + OptionalSync> WatchReceiver<Watch, T> for WatchRx<T> {
    async fn changed(&mut self) -> Result<(), openraft_rt::RecvError> {
        self.0
            .changed()
            .await
            .map_err(|_| openraft_rt::RecvError(()))
    }

    fn borrow_watched(&self) -> watch::Ref<'_, T> {
        self.0.borrow()
    }

    fn borrow_and_update(&mut self) -> watch::Ref<'_, T> {
        self.0.borrow_and_update()
    }
}

/// One-shot channels (tokio's).
pub struct Oneshot;

pub struct OneshotTx<T>(oneshot::Sender<T>);

impl openraft_rt::Oneshot for Oneshot {
    type Sender<T: OptionalSend> = OneshotTx<T>;
    type Receiver<T: OptionalSend> = oneshot::Receiver<T>;
    type ReceiverError = oneshot::error::RecvError;

    fn channel<T>() -> (Self::Sender<T>, Self::Receiver<T>)
    where
        T: OptionalSend,
    {
        let (tx, rx) = oneshot::channel();
        (OneshotTx(tx), rx)
    }
}

impl<T: OptionalSend> OneshotSender<T> for OneshotTx<T> {
    fn send(self, t: T) -> Result<(), T> {
        self.0.send(t)
    }
}

/// An async mutex (tokio's).
pub struct Mutex<T>(tokio::sync::Mutex<T>);

impl<T: OptionalSend + 'static> openraft_rt::Mutex<T> for Mutex<T> {
    type Guard<'a> = tokio::sync::MutexGuard<'a, T>;

    fn new(value: T) -> Self {
        Mutex(tokio::sync::Mutex::new(value))
    }

    fn lock(&self) -> impl Future<Output = Self::Guard<'_>> + OptionalSend {
        self.0.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::GlommioRuntime;

    /// openraft's own conformance checks for a runtime.
    #[test]
    fn passes_openraft_runtime_suite() {
        openraft_rt::testing::Suite::<GlommioRuntime>::test_all();
    }
}
