//! Listeners and connections.
//!
//! One task accepts on each bound socket; each connection gets a reader task
//! that reads frames (size checked against `socket.request.max.bytes` before
//! any allocation), decodes and handles requests one at a time, in order. An
//! answer that is ready while nothing is waiting before it is written by the
//! reader itself. A handler may answer later (a produce waiting for its
//! fsync): that answer, and every one after it until the queue is empty again,
//! goes through a writer task in order, so a connection can have several
//! produce requests waiting on durability while order is kept.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use anyhow::Context;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use tokio::io::Interest;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::broker::{Broker, Endpoint};
use crate::codec::{decode_request, Chunk, CodecError, Frame};
use crate::config::{BrokerConfig, Listener};
use crate::handlers::{self, Reply};
use strom_log::FileRegion;

/// How many answers a connection may have pending before the reader waits.
const MAX_IN_FLIGHT: usize = 32;

/// Bind every configured listener. Returns the sockets and the advertised endpoints.
pub async fn bind(broker: &Broker) -> anyhow::Result<(Vec<(TcpListener, String)>, Vec<Endpoint>)> {
    let mut sockets = Vec::new();
    let mut endpoints = Vec::new();
    let advertised: Vec<Listener> = match &broker.config.advertised_listeners {
        Some(list) => list
            .iter()
            .map(|l| Listener::parse(l))
            .collect::<anyhow::Result<_>>()?,
        None => Vec::new(),
    };
    for spec in &broker.config.listeners {
        let l = Listener::parse(spec)?;
        let bound = bind_listener(&l, &broker.config).await?;
        let port = bound
            .first()
            .and_then(|s| s.local_addr().ok())
            .map(|a| a.port())
            .context("listener bound no socket")?;
        let adv = advertised.iter().find(|a| a.name == l.name);
        let (host, adv_port) = match adv {
            Some(a) => (a.host.clone(), if a.port == 0 { port } else { a.port }),
            None => {
                let host = match l.host.as_str() {
                    "" | "0.0.0.0" | "::" => "localhost".to_string(),
                    h => h.to_string(),
                };
                (host, port)
            }
        };
        endpoints.push(Endpoint {
            listener: l.name.clone(),
            host,
            port: adv_port,
        });
        for s in bound {
            sockets.push((s, l.name.clone()));
        }
    }
    Ok((sockets, endpoints))
}

/// Bind one listener: `localhost` binds both 127.0.0.1 and ::1 on one port
/// (clients may resolve it to either), an empty host binds all interfaces.
/// The sockets get `socket.send.buffer.bytes` and `socket.receive.buffer.bytes`
/// before they listen, so accepted connections inherit both (and the receive
/// window is scaled for the chosen buffer from the first SYN).
async fn bind_listener(l: &Listener, config: &BrokerConfig) -> anyhow::Result<Vec<TcpListener>> {
    let (primary, secondary): (String, Option<String>) = match l.host.as_str() {
        "localhost" => ("127.0.0.1".into(), Some("::1".into())),
        "" => ("0.0.0.0".into(), None),
        h if h.contains(':') => (format!("[{h}]"), None),
        h => (h.to_string(), None),
    };
    let first = listen_on(&format!("{primary}:{}", l.port), config)
        .await
        .with_context(|| format!("binding {}:{}", primary, l.port))?;
    let port = first.local_addr()?.port();
    let mut out = vec![first];
    if let Some(second) = secondary {
        match listen_on(&format!("[{second}]:{port}"), config).await {
            Ok(s) => out.push(s),
            Err(e) => {
                tracing::warn!(error = %e, "could not also listen on [{second}]:{port}; IPv4 only")
            }
        }
    }
    Ok(out)
}

/// A listening socket on the first address `addr` resolves to that can be
/// bound (as `TcpListener::bind` does), with the configured buffers.
async fn listen_on(addr: &str, config: &BrokerConfig) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        match listen_at(a, config) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, format!("{addr}: no address"))
    }))
}

fn listen_at(addr: SocketAddr, config: &BrokerConfig) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if let Some(n) = config.socket_send_buffer_bytes() {
        socket.set_send_buffer_size(n)?;
    }
    if let Some(n) = config.socket_receive_buffer_bytes() {
        socket.set_recv_buffer_size(n)?;
    }
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accept connections until the task is aborted.
pub async fn accept_loop(
    broker: Arc<Broker>,
    listener: TcpListener,
    name: String,
    conns: Arc<parking_lot::Mutex<JoinSet<()>>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let broker = broker.clone();
                let span = tracing::info_span!("conn", %peer);
                let name = name.clone();
                let mut set = conns.lock();
                while set.try_join_next().is_some() {}
                set.spawn(
                    async move {
                        if let Err(e) = serve_connection(broker, stream, peer, name).await {
                            tracing::debug!(error = %e, "connection closed");
                        }
                    }
                    .instrument(span),
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// What the reader hands the writer for each request: an answer that is
/// ready, or one a handler will give later. `None` is no answer (acks=0); a
/// dropped sender closes the connection.
enum Slot {
    Ready(Option<Frame>),
    Later(oneshot::Receiver<Option<Frame>>),
}

/// Most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// Where response frames go: a socket that can send records straight from a
/// segment file.
trait FrameSink: AsyncWrite + Unpin {
    async fn send_file(&mut self, region: &FileRegion) -> std::io::Result<()>;
}

impl FrameSink for OwnedWriteHalf {
    /// The bytes go from the page cache to the socket without being copied
    /// into the broker (as Kafka's broker sends them).
    async fn send_file(&mut self, region: &FileRegion) -> std::io::Result<()> {
        let sock: &TcpStream = self.as_ref();
        let (mut pos, end) = (region.pos, region.pos + region.len as u64);
        while pos < end {
            sock.writable().await?;
            let sent = sock.try_io(Interest::WRITABLE, || {
                let want = usize::try_from(end - pos)
                    .unwrap_or(usize::MAX)
                    .min(1 << 30);
                rustix::fs::sendfile(sock, &*region.file, Some(&mut pos), want)
                    .map_err(std::io::Error::from)
            });
            match sent {
                // The file ends before the region does: the frame cannot be
                // completed, so the connection must close.
                Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Write a response frame; a chunked one (Fetch) with vectored writes of its
/// buffers and `sendfile` of its file regions, so records are not copied first.
async fn write_frame<W: FrameSink>(wr: &mut W, frame: Frame) -> std::io::Result<()> {
    let chunks = match frame {
        Frame::Buf(b) => return wr.write_all(&b).await,
        Frame::Chunks(c) => c,
    };
    let mut buffers = Vec::new();
    for chunk in chunks {
        match chunk {
            Chunk::Mem(b) => buffers.push(b),
            Chunk::File(region) => {
                write_buffers(wr, &mut buffers).await?;
                wr.send_file(&region).await?;
            }
        }
    }
    write_buffers(wr, &mut buffers).await
}

/// Writes all of `chunks` with vectored writes and empties it.
async fn write_buffers<W: AsyncWrite + Unpin>(
    wr: &mut W,
    chunks: &mut Vec<Bytes>,
) -> std::io::Result<()> {
    let mut next = 0;
    while next < chunks.len() {
        if chunks[next].is_empty() {
            next += 1;
            continue;
        }
        let slices: Vec<std::io::IoSlice<'_>> = chunks[next..]
            .iter()
            .filter(|c| !c.is_empty())
            .take(MAX_IOVECS)
            .map(|c| std::io::IoSlice::new(c))
            .collect();
        let mut written = wr.write_vectored(&slices).await?;
        drop(slices);
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 && next < chunks.len() {
            let chunk: &mut Bytes = &mut chunks[next];
            let n = written.min(chunk.len());
            chunk.advance(n);
            written -= n;
            if chunk.is_empty() {
                next += 1;
            }
        }
    }
    chunks.clear();
    Ok(())
}

/// How much a connection reads ahead while waiting for a frame's size: small
/// requests then take one read, and at most this much of a large frame is
/// copied when room for the whole frame is made.
const READ_AHEAD: usize = 8 * 1024;

/// Reads request frames. Bytes are read straight into one buffer and each
/// frame is split off it, so a frame is neither zeroed nor copied (a
/// `BufReader` copied every frame that was partly in its buffer). Once a
/// frame's size is known, room for all of it is made and exactly its bytes
/// are read.
struct FrameReader<R> {
    rd: R,
    buf: BytesMut,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    fn new(rd: R) -> Self {
        FrameReader {
            rd,
            buf: BytesMut::new(),
        }
    }

    /// Reads at most `max` more bytes into the buffer; 0 at end of stream.
    async fn fill(&mut self, max: usize) -> std::io::Result<usize> {
        self.buf.reserve(max);
        self.rd.read_buf(&mut (&mut self.buf).limit(max)).await
    }

    /// The next frame's size prefix; `None` at end of stream (also in the
    /// middle of a size prefix, as for a client that went away).
    async fn size(&mut self) -> std::io::Result<Option<i32>> {
        while self.buf.len() < 4 {
            if self.fill(READ_AHEAD - self.buf.len()).await? == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.buf.get_i32()))
    }

    /// The next `size` bytes (a frame whose size was checked by the caller).
    async fn frame(&mut self, size: usize) -> std::io::Result<BytesMut> {
        while self.buf.len() < size {
            if self.fill(size - self.buf.len()).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
        Ok(self.buf.split_to(size))
    }
}

async fn serve_connection(
    broker: Arc<Broker>,
    stream: TcpStream,
    peer: SocketAddr,
    listener: String,
) -> anyhow::Result<()> {
    let (rd, wr) = stream.into_split();
    let mut rd = FrameReader::new(rd);
    // The reader writes a ready answer itself when nothing is queued before it
    // (the common case: one produce or metadata answer at a time), so the
    // client has it without waiting for a hand-off to the writer task, which
    // on a busy runtime would run only once the reader runs out of input.
    // Answers behind one that is not ready yet go through the writer, in order.
    let wr = Arc::new(tokio::sync::Mutex::new(wr));
    // Answers handed to the writer and not yet written; only the reader adds.
    let queued = Arc::new(AtomicUsize::new(0));
    let (slots_tx, mut slots_rx) = mpsc::channel::<Slot>(MAX_IN_FLIGHT);
    let writer = {
        let (wr, queued) = (wr.clone(), queued.clone());
        tokio::spawn(async move {
            while let Some(slot) = slots_rx.recv().await {
                let frame = match slot {
                    Slot::Ready(frame) => frame,
                    Slot::Later(rx) => match rx.await {
                        Ok(frame) => frame,
                        Err(_) => break, // the handler asked to close the connection
                    },
                };
                if let Some(frame) = frame {
                    if write_frame(&mut *wr.lock().await, frame).await.is_err() {
                        break;
                    }
                }
                // After the lock is released: the reader may write next.
                queued.fetch_sub(1, Ordering::AcqRel);
            }
            let _ = wr.lock().await.shutdown().await;
        })
    };
    let queue = |slot: Slot| {
        queued.fetch_add(1, Ordering::AcqRel);
        slots_tx.send(slot)
    };
    let max = broker.config.socket_request_max_bytes();
    let result = async {
        loop {
            let size = match rd.size().await {
                Ok(Some(n)) => n,
                Ok(None) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
            if size < 0 || size as usize > max {
                anyhow::bail!(
                    "request of {size} bytes exceeds socket.request.max.bytes {max}; closing connection from {peer}"
                );
            }
            let frame = rd.frame(size as usize).await?;
            let answer = match decode_request(frame.freeze()) {
                Ok(req) => {
                    let api = req.api_key();
                    match handlers::handle(&broker, req, &listener, peer).await {
                        Reply::Now(frame) => frame,
                        Reply::Later(fut) => {
                            let (tx, rx) = oneshot::channel();
                            tokio::spawn(async move {
                                let _ = tx.send(fut.await);
                            });
                            if queue(Slot::Later(rx)).await.is_err() {
                                return Ok(());
                            }
                            continue;
                        }
                        Reply::Close(why) => anyhow::bail!("{api:?}: {why}"),
                    }
                }
                Err(CodecError::UnsupportedVersion {
                    api_key,
                    version,
                    correlation_id,
                }) if api_key == ApiKey::ApiVersions as i16 => {
                    tracing::debug!(version, "ApiVersions at an unsupported version; answering v0");
                    Some(handlers::api_versions::unsupported_version_response(correlation_id)?.into())
                }
                Err(e) => return Err(e.into()),
            };
            // Nothing queued means every earlier answer has been written and
            // the writer holds no lock, so this one goes out now, in order.
            if queued.load(Ordering::Acquire) == 0 {
                if let Ok(mut w) = wr.try_lock() {
                    if let Some(frame) = answer {
                        write_frame(&mut *w, frame).await?;
                    }
                    continue;
                }
            }
            if queue(Slot::Ready(answer)).await.is_err() {
                return Ok(());
            }
        }
    }
    .await;
    drop(slots_tx);
    let _ = writer.await;
    result
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A socket that takes at most `step` bytes per write.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.step);
            self.out.extend_from_slice(&buf[..n]);
            self.calls += 1;
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[std::io::IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            let mut left = self.step;
            for b in bufs {
                let n = b.len().min(left);
                self.out.extend_from_slice(&b[..n]);
                left -= n;
            }
            self.calls += 1;
            Poll::Ready(Ok(self.step - left))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl FrameSink for Trickle {
        async fn send_file(&mut self, region: &FileRegion) -> std::io::Result<()> {
            self.write_all(&region.read(strom_log::Wait::Yes)?).await
        }
    }

    /// A frame of buffers and file regions arrives whole and in order over a
    /// real socket (regions by sendfile, larger than the socket buffers, so
    /// sends block part way) and through a sink that takes short writes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn file_regions_are_sent_whole_between_buffers() {
        let data: Vec<u8> = (0..12_000_000u32)
            .map(|i| (i * 7 + i / 977) as u8)
            .collect();
        let mut file = tempfile::tempfile().expect("temp file");
        std::io::Write::write_all(&mut file, &data).expect("write");
        let file = Arc::new(file);
        let region = |pos: usize, len: usize| {
            Chunk::File(FileRegion {
                file: file.clone(),
                pos: pos as u64,
                len,
            })
        };
        let chunks = vec![
            Chunk::Mem(Bytes::from_static(b"head")),
            region(3, 9_000_000),
            Chunk::Mem(Bytes::from_static(b"middle")),
            region(11_000_000, 1_000_000),
            Chunk::Mem(Bytes::from_static(b"tail")),
        ];
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&data[3..9_000_003]);
        expected.extend_from_slice(b"middle");
        expected.extend_from_slice(&data[11_000_000..12_000_000]);
        expected.extend_from_slice(b"tail");

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (mut client, (server, _)) = (client.expect("connect"), server.expect("accept"));
        let (_rd, mut wr) = server.into_split();
        let frame = Frame::Chunks(chunks.clone());
        let send = tokio::spawn(async move { write_frame(&mut wr, frame).await });
        let mut got = vec![0u8; expected.len()];
        client.read_exact(&mut got).await.expect("read");
        send.await.expect("join").expect("write_frame");
        assert!(got == expected, "bytes over the socket differ");

        let mut w = Trickle {
            out: Vec::new(),
            step: 100_000,
            calls: 0,
        };
        write_frame(&mut w, Frame::Chunks(chunks))
            .await
            .expect("write");
        assert!(w.out == expected, "bytes through short writes differ");
    }

    #[tokio::test]
    async fn chunked_frames_are_written_whole_and_in_order_through_short_writes() {
        let chunks: Vec<Bytes> = (0..150u32)
            .map(|i| {
                Bytes::from(
                    (0..(i % 13) * 7)
                        .map(|j| (i + j) as u8)
                        .collect::<Vec<u8>>(),
                )
            })
            .collect();
        let expected: Vec<u8> = chunks.iter().flat_map(|c| c.to_vec()).collect();
        for step in [1, 5, 64, 1000, 1 << 20] {
            let mut w = Trickle {
                out: Vec::new(),
                step,
                calls: 0,
            };
            let frame = Frame::Chunks(chunks.iter().cloned().map(Chunk::Mem).collect());
            write_frame(&mut w, frame).await.expect("write");
            assert_eq!(w.out, expected, "step {step}");
            if step == 1 << 20 {
                // 150 chunks (some empty) in writes of at most MAX_IOVECS buffers.
                assert!(w.calls <= 3, "{} writes", w.calls);
            }
        }
    }

    /// A socket that returns at most `step` bytes per read.
    struct Drip<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl AsyncRead for Drip<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = self.data.len().min(self.step).min(buf.remaining());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn frames_are_split_off_exactly_whatever_the_read_sizes() {
        let mut stream = Vec::new();
        let sizes = [0usize, 7, 150, 3, 200_000, 12, 70_000, 1];
        for (i, n) in sizes.iter().enumerate() {
            stream.extend_from_slice(&(*n as i32).to_be_bytes());
            stream.extend((0..*n).map(|j| (i * 31 + j) as u8));
        }
        for step in [1, 3, 4096, 1 << 20] {
            let mut rd = FrameReader::new(Drip {
                data: &stream,
                step,
            });
            for (i, n) in sizes.iter().enumerate() {
                let size = rd.size().await.expect("size").expect("not at end");
                assert_eq!(size as usize, *n, "step {step}");
                let frame = rd.frame(*n).await.expect("frame");
                let want: Vec<u8> = (0..*n).map(|j| (i * 31 + j) as u8).collect();
                assert_eq!(&frame[..], &want[..], "step {step}, frame {i}");
            }
            assert_eq!(rd.size().await.expect("end").map(|_| ()), None);
        }
        // A frame cut short is an error; a size prefix cut short is the end.
        let mut rd = FrameReader::new(&[0u8, 0, 0, 9, 1, 2, 3][..]);
        let size = rd.size().await.expect("size").expect("size");
        assert_eq!(
            rd.frame(size as usize)
                .await
                .map(|_| ())
                .map_err(|e| e.kind()),
            Err(std::io::ErrorKind::UnexpectedEof)
        );
        let mut rd = FrameReader::new(&[0u8, 0][..]);
        assert!(rd.size().await.expect("end").is_none());
    }

    /// What an accepted connection's kernel reports for SO_SNDBUF and SO_RCVBUF.
    async fn accepted_buffers(props: &[(&str, &str)]) -> (u32, u32) {
        let config = BrokerConfig::from_properties(
            props
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .expect("config");
        let listener = listen_on("127.0.0.1:0", &config).await.expect("listen");
        let addr = listener.local_addr().expect("addr");
        let _client = TcpStream::connect(addr).await.expect("connect");
        let (accepted, _) = listener.accept().await.expect("accept");
        let socket = TcpSocket::from_std_stream(accepted.into_std().expect("std"));
        (
            socket.send_buffer_size().expect("SO_SNDBUF"),
            socket.recv_buffer_size().expect("SO_RCVBUF"),
        )
    }

    #[tokio::test]
    async fn accepted_connections_get_the_configured_socket_buffers() {
        // Linux doubles the size asked for (bookkeeping overhead) and reports that.
        let (send, recv) = accepted_buffers(&[]).await;
        assert_eq!(
            send,
            2 * 102_400,
            "Kafka's default socket.send.buffer.bytes"
        );
        let (_, os_recv) = accepted_buffers(&[("socket.receive.buffer.bytes", "-1")]).await;
        assert_eq!(
            recv, os_recv,
            "socket.receive.buffer.bytes defaults to the OS's"
        );
        let (send, recv) = accepted_buffers(&[
            ("socket.send.buffer.bytes", "65536"),
            ("socket.receive.buffer.bytes", "32768"),
        ])
        .await;
        assert_eq!((send, recv), (2 * 65_536, 2 * 32_768));
        let (os_send, _) = accepted_buffers(&[("socket.send.buffer.bytes", "-1")]).await;
        assert_ne!(os_send, 2 * 102_400, "-1 leaves the OS default");
    }
}
