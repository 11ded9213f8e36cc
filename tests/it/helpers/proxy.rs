//! A TCP proxy a test can cut, to play a database (or any server) going away and
//! coming back without touching the real server other tests share.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwards connections to a target until cut; while cut, open connections are
/// dropped and new ones are closed at once, as a restarting server would.
pub struct CuttableProxy {
    address: SocketAddr,
    up: Arc<watch::Sender<bool>>,
}

impl CuttableProxy {
    /// Starts forwarding from a free loopback port to `target`.
    pub async fn start(target: SocketAddr) -> CuttableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address");
        let up = Arc::new(watch::Sender::new(true));
        let state = Arc::clone(&up);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*state.borrow() {
                    drop(client);
                    continue;
                }
                let mut cut = state.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        CuttableProxy { address, up }
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// Forwards again.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}
