//! Client sockets driven by readiness, as Redis drives them: one edge-triggered
//! epoll instance per core, non-blocking `recv`/`send`, and one `epoll_wait` per
//! pass of the executor loop however many clients are ready.
//!
//! Why not glommio's own sockets: they arm one io_uring poll per read, and its
//! completion reaches a busy executor through task work and an inter-processor
//! interrupt, a cost paid on every request by the server and, on loopback, by
//! the client that sends. An epoll callback on a busy executor only queues the
//! socket. glommio still runs everything else (tasks, timers, channels, files).
//!
//! Waiting: while clients are active the poller task checks epoll once per
//! executor pass (it sleeps on a 1 µs timer so the executor processes its own
//! completions in between). After a short quiet spell it hands the blocking wait
//! to a helper thread, which sleeps in `epoll_wait` on the core's epoll set and
//! wakes the executor through a socket pair that glommio watches; an idle server
//! uses no CPU.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite};

/// How long the poller keeps checking epoll itself after the last event
/// before handing the wait to the helper thread.
const SPIN: Duration = Duration::from_micros(200);

#[derive(Default)]
struct Slot {
    fd: RawFd,
    live: bool,
    readable: bool,
    writable: bool,
    /// The peer closed or reset: calls are always tried from now on (a
    /// short read may leave the end of the stream behind it, and no new
    /// edge will come to announce it).
    hup: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// One core's epoll set and the sockets registered in it.
pub struct Reactor {
    epfd: OwnedFd,
    slots: RefCell<Vec<Slot>>,
    free: RefCell<Vec<usize>>,
    /// Asks the helper thread to wait in epoll for us.
    arm: RefCell<std::os::unix::net::UnixStream>,
    /// Written by the helper when the epoll set has events; taken by the
    /// poller task.
    notify: RefCell<Option<glommio::net::UnixStream>>,
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: epoll_create1 returns a new descriptor we then own.
    let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn epoll_add(epfd: RawFd, fd: RawFd, events: u32, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: token };
    // SAFETY: valid descriptors and a properly initialised event.
    cvt(unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) }).map(|_| ())
}

/// The helper thread: whenever the poller asks, block until the core's epoll
/// set has events, then say so.
fn helper(
    epfd: RawFd,
    mut arm: std::os::unix::net::UnixStream,
    mut notify: std::os::unix::net::UnixStream,
) {
    let Ok(outer) = epoll_create() else { return };
    // Level-triggered watch of the inner set: waiting here consumes none of
    // its events.
    if epoll_add(outer.as_raw_fd(), epfd, libc::EPOLLIN as u32, 0).is_err() {
        return;
    }
    let mut byte = [0u8; 1];
    loop {
        match arm.read(&mut byte) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        loop {
            // SAFETY: one event slot, valid descriptor.
            let n = unsafe { libc::epoll_wait(outer.as_raw_fd(), &mut ev, 1, -1) };
            if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                break;
            }
        }
        if notify.write_all(&[1]).is_err() {
            return;
        }
    }
}

thread_local! {
    /// This core's reactor, for `harvest`.
    static CURRENT: RefCell<std::rc::Weak<Reactor>> = const { RefCell::new(std::rc::Weak::new()) };
}

/// Wake every socket of this core that is ready now, without waiting for
/// the poller's next pass; returns how many readiness events there were. Group commit
/// calls it before cutting a batch, so requests already in the kernel's
/// buffers join the batch instead of the next one.
pub fn harvest() -> usize {
    let Some(r) = CURRENT.with(|c| c.borrow().upgrade()) else {
        return 0;
    };
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 64];
    r.poll_once(&mut events)
}

impl Reactor {
    pub fn new() -> io::Result<Rc<Reactor>> {
        let epfd = epoll_create()?;
        let (arm_tx, arm_rx) = std::os::unix::net::UnixStream::pair()?;
        let (notify_tx, notify_rx) = std::os::unix::net::UnixStream::pair()?;
        let raw = epfd.as_raw_fd();
        std::thread::Builder::new()
            .name("cachecat-epoll".into())
            .spawn(move || helper(raw, arm_rx, notify_tx))?;
        // SAFETY: we own notify_rx and hand it to glommio.
        let notify = unsafe { glommio::net::UnixStream::from_raw_fd(notify_rx.into_raw_fd()) };
        let reactor = Rc::new(Reactor {
            epfd,
            slots: RefCell::new(Vec::new()),
            free: RefCell::new(Vec::new()),
            arm: RefCell::new(arm_tx),
            notify: RefCell::new(Some(notify)),
        });
        CURRENT.with(|c| *c.borrow_mut() = Rc::downgrade(&reactor));
        Ok(reactor)
    }

    fn register(&self, fd: RawFd) -> io::Result<usize> {
        let token = {
            let mut slots = self.slots.borrow_mut();
            let token = match self.free.borrow_mut().pop() {
                Some(t) => t,
                None => {
                    slots.push(Slot::default());
                    slots.len() - 1
                }
            };
            slots[token] = Slot {
                fd,
                live: true,
                readable: true,
                writable: true,
                hup: false,
                reader: None,
                writer: None,
            };
            token
        };
        let events = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
        if let Err(e) = epoll_add(self.epfd.as_raw_fd(), fd, events, token as u64) {
            self.release(token);
            return Err(e);
        }
        Ok(token)
    }

    fn release(&self, token: usize) {
        let mut slots = self.slots.borrow_mut();
        slots[token] = Slot::default();
        self.free.borrow_mut().push(token);
    }

    fn deregister(&self, token: usize) {
        let fd = self.slots.borrow()[token].fd;
        // SAFETY: removing a descriptor we registered; failure is harmless.
        unsafe {
            libc::epoll_ctl(
                self.epfd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            );
        }
        self.release(token);
    }

    /// Collect ready events without blocking; wakes the waiting sockets.
    /// Returns how many events there were.
    fn poll_once(&self, events: &mut [libc::epoll_event]) -> usize {
        // SAFETY: the buffer holds events.len() entries.
        let n = unsafe {
            libc::epoll_wait(
                self.epfd.as_raw_fd(),
                events.as_mut_ptr(),
                events.len() as i32,
                0,
            )
        };
        if n <= 0 {
            return 0;
        }
        let mut slots = self.slots.borrow_mut();
        for ev in &events[..n as usize] {
            let (bits, token) = (ev.events, ev.u64 as usize);
            let Some(slot) = slots.get_mut(token).filter(|s| s.live) else {
                continue;
            };
            let err = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
            if bits & (libc::EPOLLRDHUP as u32 | err) != 0 {
                slot.hup = true;
            }
            if bits & (libc::EPOLLIN as u32 | libc::EPOLLRDHUP as u32 | err) != 0 {
                slot.readable = true;
                if let Some(w) = slot.reader.take() {
                    w.wake();
                }
            }
            if bits & (libc::EPOLLOUT as u32 | err) != 0 {
                slot.writable = true;
                if let Some(w) = slot.writer.take() {
                    w.wake();
                }
            }
        }
        n as usize
    }

    /// The poller task: runs for the life of the core.
    pub async fn run(self: Rc<Self>) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 256];
        let Some(mut notify) = self.notify.borrow_mut().take() else {
            return;
        };
        let mut last_event = crate::clock::monotonic();
        loop {
            if self.poll_once(&mut events) > 0 {
                last_event = crate::clock::monotonic();
            } else if last_event.elapsed() >= SPIN {
                // Quiet: let the helper wait in epoll and wake us.
                if self.arm.borrow_mut().write_all(&[1]).is_err() {
                    return;
                }
                let mut buf = [0u8; 16];
                if notify.read(&mut buf).await.is_err() {
                    return;
                }
                last_event = crate::clock::monotonic();
                continue;
            }
            // Let the executor run the woken clients and process its own
            // completions before the next check.
            glommio::timer::sleep(Duration::from_micros(1)).await;
        }
    }
}

/// A listening socket accepting through the reactor.
pub struct Listener {
    fd: OwnedFd,
    token: usize,
    reactor: Rc<Reactor>,
}

impl Listener {
    /// Bind with SO_REUSEPORT, so every core accepts on the same port.
    pub fn bind(reactor: &Rc<Reactor>, addr: std::net::SocketAddr) -> io::Result<Listener> {
        let domain = if addr.is_ipv6() {
            socket2::Domain::IPV6
        } else {
            socket2::Domain::IPV4
        };
        let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
        s.set_reuse_address(true)?;
        s.set_reuse_port(true)?;
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        s.listen(1024)?;
        let fd: OwnedFd = s.into();
        let token = reactor.register(fd.as_raw_fd())?;
        Ok(Listener {
            fd,
            token,
            reactor: reactor.clone(),
        })
    }

    /// The next connection, as a non-blocking stream registered with the
    /// reactor.
    pub async fn accept(&self) -> io::Result<Stream> {
        std::future::poll_fn(|cx| {
            // SAFETY: accept4 on our listening socket; the new descriptor is owned below.
            let fd = unsafe {
                libc::accept4(
                    self.fd.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            if fd >= 0 {
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                return Poll::Ready(Stream::new(&self.reactor, fd));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::WouldBlock {
                return Poll::Ready(Err(e));
            }
            let mut slots = self.reactor.slots.borrow_mut();
            let slot = &mut slots[self.token];
            slot.readable = false;
            slot.reader = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.reactor.deregister(self.token);
    }
}

impl Slot {
    /// The readiness flag and the waiting task of one direction.
    fn side(&mut self, dir: Dir) -> (&mut bool, &mut Option<Waker>) {
        match dir {
            Dir::Read => (&mut self.readable, &mut self.reader),
            Dir::Write => (&mut self.writable, &mut self.writer),
        }
    }
}

/// A connected client socket.
pub struct Stream {
    fd: OwnedFd,
    token: usize,
    reactor: Rc<Reactor>,
}

impl Stream {
    fn new(reactor: &Rc<Reactor>, fd: OwnedFd) -> io::Result<Stream> {
        let token = reactor.register(fd.as_raw_fd())?;
        Ok(Stream {
            fd,
            token,
            reactor: reactor.clone(),
        })
    }

    fn sockref(&self) -> socket2::SockRef<'_> {
        socket2::SockRef::from(&self.fd)
    }

    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.sockref().set_tcp_nodelay(on)
    }

    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.sockref()
            .peer_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an inet socket"))
    }

    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.sockref()
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("not an inet socket"))
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.reactor.deregister(self.token);
    }
}

/// Which readiness a socket call waits for.
#[derive(Clone, Copy)]
enum Dir {
    Read,
    Write,
}

impl Stream {
    /// Run a non-blocking socket call until it completes or fails; when it
    /// would block, wait for the next readiness edge in that direction. A
    /// short transfer means the socket is drained (or full): with
    /// edge-triggered epoll the next change raises a new event, so until
    /// that event the call is not even tried (a client waiting for its
    /// reply costs one `recv` per request, not two).
    fn poll_io(
        &self,
        cx: &Context<'_>,
        dir: Dir,
        len: usize,
        mut call: impl FnMut() -> isize,
    ) -> Poll<io::Result<usize>> {
        loop {
            {
                let mut slots = self.reactor.slots.borrow_mut();
                let slot = &mut slots[self.token];
                let hup = slot.hup;
                let (ready, waiter) = slot.side(dir);
                if !*ready && !hup {
                    *waiter = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
            let n = call();
            let mut slots = self.reactor.slots.borrow_mut();
            let (ready, waiter) = slots[self.token].side(dir);
            if n >= 0 {
                if (n as usize) < len {
                    *ready = false;
                }
                return Poll::Ready(Ok(n as usize));
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                // Drained: the next edge wakes us.
                io::ErrorKind::WouldBlock => {
                    *ready = false;
                    *waiter = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                _ => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let fd = self.fd.as_raw_fd();
        let len = buf.len();
        // SAFETY: buf is valid for len bytes.
        self.poll_io(cx, Dir::Read, len, || unsafe {
            libc::recv(fd, buf.as_mut_ptr().cast(), len, libc::MSG_DONTWAIT)
        })
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: buf is valid for buf.len() bytes.
        self.poll_io(cx, Dir::Write, buf.len(), || unsafe {
            libc::send(
                fd,
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = self.sockref().shutdown(std::net::Shutdown::Write);
        Poll::Ready(Ok(()))
    }
}
