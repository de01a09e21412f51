//! A TCP proxy the tests cut to take a dependency (MariaDB) away and restore to bring it back.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards `port` to `target` until stopped; stopping drops every forwarded connection.
pub(crate) struct TcpProxy {
    pub(crate) port: u16,
    target: String,
    task: JoinHandle<()>,
}

impl TcpProxy {
    pub(crate) async fn start(port: u16, target: &str) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let to = target.to_owned();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let to = to.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self {
            port,
            target: target.to_owned(),
            task,
        }
    }

    /// The database is gone: no new connection, and the open ones are cut.
    pub(crate) async fn cut(&self) {
        self.task.abort();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    pub(crate) async fn restore(&self) -> Self {
        Self::start(self.port, &self.target).await
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
