//! The listener on a real socket: timeouts, the connection cap and graceful shutdown, with
//! raw TCP clients that misbehave on purpose. Timed checks use generous margins: each asserts
//! what happens, never how fast.

use std::net::SocketAddr;
use std::time::Duration;

use candor_domain::policy::Policy;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

use crate::support::TestApp;

/// Longest any step may take before the test fails: far above every timeout configured here.
const PATIENCE: Duration = Duration::from_secs(10);

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: candor\r\n\r\n";

/// A server with `config_text`'s settings on a free port, stopped when `stop` is sent.
struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    app: TestApp,
}

async fn start(config_text: &str) -> Running {
    let app = TestApp::with_config_text(Policy::default_policy(), config_text);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(candor_server::serve(
        listener,
        app.state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    Running {
        addr,
        stop: Some(stop),
        task,
        app,
    }
}

/// Reads one response: its status and its body (by `Content-Length`).
async fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut bytes = Vec::new();
    let head_end = loop {
        if let Some(i) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("no response in time")
            .unwrap();
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    while bytes.len() < head_end + len {
        let mut chunk = [0u8; 4096];
        let n = timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("no body in time")
            .unwrap();
        assert!(n > 0, "closed inside a body");
        bytes.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(bytes[head_end..head_end + len].to_vec()).unwrap();
    (status, body)
}

/// Waits for the server to close `stream`; returns what it sent before closing.
async fn closed(stream: &mut TcpStream) -> String {
    let mut rest = Vec::new();
    match timeout(PATIENCE, stream.read_to_end(&mut rest)).await {
        Err(_) => panic!("the connection was not closed"),
        // A reset is a close too.
        Ok(Ok(_) | Err(_)) => String::from_utf8_lossy(&rest).into_owned(),
    }
}

async fn healthz(stream: &mut TcpStream) -> u16 {
    stream.write_all(HEALTHZ).await.unwrap();
    read_response(stream).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut() {
    let server = start("[limits]\nheader_read_timeout_ms = 300\n").await;
    let began = Instant::now();
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: cand")
        .await
        .unwrap();
    // Meanwhile others are served.
    let mut other = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(healthz(&mut other).await, 200);
    let sent = closed(&mut slow).await;
    assert!(!sent.contains("200 OK"), "{sent}");
    assert!(began.elapsed() >= Duration::from_millis(300));
    // A client that sends nothing at all is cut the same way.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    closed(&mut silent).await;
    assert_eq!(healthz(&mut other).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_kept_for_the_idle_timeout_then_closed() {
    let server =
        start("[limits]\nheader_read_timeout_ms = 300\nkeep_alive_idle_timeout_ms = 3000\n").await;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(healthz(&mut conn).await, 200);
    // Idle for longer than the header timeout: waiting between requests is not header time.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(healthz(&mut conn).await, 200);
    let idle_from = Instant::now();
    assert_eq!(closed(&mut conn).await, "");
    assert!(idle_from.elapsed() >= Duration::from_millis(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_not_complete_in_time_is_answered_408() {
    let server = start("[limits]\nrequest_timeout_ms = 500\n").await;
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    // The head promises 100 bytes of body; ten come, then nothing.
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: candor\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"events\":",
        server.app.ingest
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let (status, body) = read_response(&mut conn).await;
    assert_eq!(status, 408, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "request_timeout");
    // The rest of that body will never be read: the connection is closed.
    closed(&mut conn).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_connection_waits_until_one_closes() {
    let server = start("[limits]\nconnections_max = 2\n").await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(healthz(&mut first).await, 200);
    assert_eq!(healthz(&mut second).await, 200);
    // Both stay open (kept alive); a third waits in the accept queue, unanswered.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    let waited = timeout(Duration::from_millis(1000), third.read(&mut byte)).await;
    assert!(waited.is_err(), "served past the cap: {waited:?}");
    // One closes: the third is served.
    drop(first);
    assert_eq!(read_response(&mut third).await.0, 200);
    assert_eq!(healthz(&mut second).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_closes_idle_connections() {
    let mut server = start("").await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(healthz(&mut idle).await, 200);
    // A request in flight: its handler has started reading the body (the server said
    // `100 Continue`), and the body is sent only after shutdown began.
    let body = r#"{"events": [{"event": "Product Viewed", "userId": "u1", "messageId": "m1", "properties": {"product_id": "sku-1"}}]}"#;
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: candor\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        server.app.ingest,
        body.len()
    );
    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    busy.write_all(head.as_bytes()).await.unwrap();
    assert_eq!(read_response(&mut busy).await.0, 100);

    server.stop.take().unwrap().send(()).unwrap();
    // The idle connection is closed at once, not waited for.
    assert_eq!(closed(&mut idle).await, "");
    busy.write_all(body.as_bytes()).await.unwrap();
    let (status, answer) = read_response(&mut busy).await;
    assert_eq!(status, 200, "{answer}");
    timeout(PATIENCE, server.task)
        .await
        .expect("serve did not return after its connections ended")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(server.addr).await.is_err());
}
