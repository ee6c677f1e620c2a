//! A local TCP server on a thread and tokio runtime of its own, on a free
//! 127.0.0.1 port, stopped (and its port closed) when dropped: the base of
//! the rules layer and the fault proxy. Its own runtime because tests block
//! on chatctl processes and may start it from inside theirs.

use std::future::Future;

pub struct Server {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves every accepted connection with `on_connection`, each on a task.
    pub fn start<F, Fut>(what: &'static str, on_connection: F) -> Server
    where
        F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("start the {what}'s runtime: {e}"));
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .unwrap_or_else(|e| panic!("bind the {what}: {e}"));
                let _ = port_tx.send(listener.local_addr().map(|a| a.port()).unwrap_or(0));
                let accept = async move {
                    loop {
                        if let Ok((stream, _)) = listener.accept().await {
                            tokio::spawn(on_connection(stream));
                        }
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        let port = port_rx
            .recv()
            .unwrap_or_else(|_| panic!("the {what} did not start"));
        Server {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Joined, so the port is closed when the drop returns.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
