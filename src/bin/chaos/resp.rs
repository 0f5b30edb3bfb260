//! A small blocking RESP2 client with deadlines, for the harness's workers.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Ok(String),
    Err(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Val>>),
}

impl Val {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Bulk(Some(b)) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<String> {
        match self {
            Val::Ok(s) => Some(s.clone()),
            Val::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

pub struct Conn {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Conn {
    pub fn connect(addr: SocketAddr, timeout: Duration) -> io::Result<Conn> {
        let s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        Ok(Conn {
            r: BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    /// Send one command and read its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Val> {
        self.send(args)?;
        self.read()
    }

    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<()> {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            let a = a.as_ref();
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a);
            buf.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&buf)
    }

    pub fn read(&mut self) -> io::Result<Val> {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line)?;
        if line.len() < 3 || !line.ends_with(b"\r\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad reply");
        match line[0] {
            b'+' => Ok(Val::Ok(body)),
            b'-' => Ok(Val::Err(body)),
            b':' => body.parse().map(Val::Int).map_err(|_| bad()),
            b'$' => {
                let n: i64 = body.parse().map_err(|_| bad())?;
                if n < 0 {
                    return Ok(Val::Bulk(None));
                }
                let mut data = vec![0u8; n as usize + 2];
                io::Read::read_exact(&mut self.r, &mut data)?;
                data.truncate(n as usize);
                Ok(Val::Bulk(Some(data)))
            }
            b'*' => {
                let n: i64 = body.parse().map_err(|_| bad())?;
                if n < 0 {
                    return Ok(Val::Array(None));
                }
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.read()?);
                }
                Ok(Val::Array(Some(items)))
            }
            _ => Err(bad()),
        }
    }
}

/// One command on a fresh connection: for the harness's own admin calls.
pub fn once<A: AsRef<[u8]>>(addr: SocketAddr, args: &[A], timeout: Duration) -> io::Result<Val> {
    Conn::connect(addr, timeout)?.call(args)
}
