//! One transaction on the bus: its object (`io.github.keelapp.Keel.Backend1.Transaction`), the
//! forwarding of the writer's progress to it, and its end — which frees the service whatever
//! happened on the bus.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zbus::object_server::SignalEmitter;
use zbus::zvariant::OwnedObjectPath;
use zbus::{Connection, interface};

use super::worker::Event;
use super::{Backend, OBJECT_PATH, State, lock};
use crate::driver::Cancel;
use crate::error::Error;
use crate::progress::ProgressUpdate;
use keel_api::i18n::gettext;
use keel_api::{Operation, TransactionState};

/// A finished transaction stays readable this long, for clients that come late to it.
const KEEP_FINISHED: Duration = Duration::from_secs(60);
/// Progress signals are sent at most this often (the last one always goes out).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);

/// The service is busy with one transaction while this lives: dropping it clears the active
/// transaction (when it is still this one), on every path out, errors and panics included.
pub(super) struct ActiveGuard {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) path: OwnedObjectPath,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if state.active.as_ref().is_some_and(|a| a.path == self.path) {
            state.active = None;
        }
    }
}

/// The D-Bus side of one transaction, from the writer's first report to its end. When the bus
/// fails part-way (a signal that cannot be sent, a lost connection), the writer's end is still
/// awaited, and the service is free for the next request once the writer is.
pub(super) async fn run_transaction(
    conn: Connection,
    path: OwnedObjectPath,
    events: async_channel::Receiver<Event>,
    guard: ActiveGuard,
) {
    let state = guard.state.clone();
    let outcome = match forward_progress(&conn, &path, &events, &state).await {
        Ok(outcome) => outcome,
        Err(err) => {
            tracing::error!("transaction {path}: its progress could not be sent: {err}");
            writer_outcome(&events).await
        }
    };
    if let Err(err) = finish(&conn, &path, &outcome, guard).await {
        tracing::error!("transaction {path}: its end could not be announced: {err}");
        // The guard is gone, so the service is free; say so where the bus still allows.
        if let Ok(main) = SignalEmitter::new(&conn, OBJECT_PATH) {
            if let Ok(backend) = conn
                .object_server()
                .interface::<_, Backend>(OBJECT_PATH)
                .await
            {
                let _ = backend.get().await.active_transaction_changed(&main).await;
            }
            let _ = Backend::status_changed(&main).await;
            let _ = super::apps::Apps::apps_changed(&main).await;
        }
    }
}

/// The writer's answer, skipping any progress still queued.
async fn writer_outcome(events: &async_channel::Receiver<Event>) -> crate::Result<String> {
    while let Ok(event) = events.recv().await {
        if let Event::Done(result) = event {
            return result;
        }
    }
    Err(Error::Failed(gettext("The backend’s writer stopped.")))
}

/// Forwards progress to the transaction object until the writer answers; returns its answer.
async fn forward_progress(
    conn: &Connection,
    path: &OwnedObjectPath,
    events: &async_channel::Receiver<Event>,
    state: &Arc<Mutex<State>>,
) -> zbus::Result<crate::Result<String>> {
    let iface = conn
        .object_server()
        .interface::<_, Transaction>(path)
        .await?;
    let emitter = iface.signal_emitter().clone();
    let mut last_sent: Option<Instant> = None;
    let mut held: Option<ProgressUpdate> = None;
    let outcome = loop {
        match events.recv().await {
            Ok(Event::Progress(update)) => {
                let due = last_sent.is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL)
                    || update.fraction >= 1.0;
                if due {
                    if lock(state).fail_progress_signals {
                        return Err(zbus::Error::Failure("progress signals fail (test)".into()));
                    }
                    send_progress(&iface, &emitter, &update).await?;
                    last_sent = Some(Instant::now());
                    held = None;
                } else {
                    held = Some(update);
                }
            }
            Ok(Event::Done(result)) => break result,
            Err(_) => break Err(Error::Failed(gettext("The backend’s writer stopped."))),
        }
    };
    if let Some(update) = held {
        send_progress(&iface, &emitter, &update).await?;
    }
    Ok(outcome)
}

/// Records the outcome on the transaction object, frees the service and announces the end.
async fn finish(
    conn: &Connection,
    path: &OwnedObjectPath,
    outcome: &crate::Result<String>,
    guard: ActiveGuard,
) -> zbus::Result<()> {
    let iface = conn
        .object_server()
        .interface::<_, Transaction>(path)
        .await?;
    let emitter = iface.signal_emitter().clone();
    let operation = iface.get().await.operation;
    let (success, name, message) = match outcome {
        Ok(message) => (true, String::new(), message.clone()),
        Err(err) => (false, err.kind().dbus_name(), err.message().to_owned()),
    };
    {
        let mut t = iface.get_mut().await;
        t.state = match outcome {
            Ok(_) => TransactionState::Succeeded,
            Err(Error::Cancelled(_)) => TransactionState::Cancelled,
            Err(_) => TransactionState::Failed,
        };
        if success {
            // Late clients read what was done from the last message.
            t.fraction = 1.0;
            t.message = message.clone();
        }
        t.error_name = name.clone();
        t.error_message = if success {
            String::new()
        } else {
            message.clone()
        };
        t.state_changed(&emitter).await?;
        t.fraction_changed(&emitter).await?;
        t.message_changed(&emitter).await?;
    }
    // The active transaction is cleared before Finished goes out: a client reacting to it may
    // start the next one at once.
    drop(guard);
    let main = SignalEmitter::new(conn, OBJECT_PATH)?;
    let backend = conn
        .object_server()
        .interface::<_, Backend>(OBJECT_PATH)
        .await?;
    backend
        .get()
        .await
        .active_transaction_changed(&main)
        .await?;
    Transaction::finished(&emitter, success, &name, &message).await?;
    // The history (and so the status's history mark) takes in apps operations too.
    Backend::status_changed(&main).await?;
    if operation.concerns_apps() {
        super::apps::Apps::apps_changed(&main).await?;
    }
    let keeper = conn.clone();
    let path = path.clone();
    conn.executor()
        .spawn(
            async move {
                async_io::Timer::after(KEEP_FINISHED).await;
                let _ = keeper.object_server().remove::<Transaction, _>(&path).await;
            },
            "keel-transaction-cleanup",
        )
        .detach();
    Ok(())
}

async fn send_progress(
    iface: &zbus::object_server::InterfaceRef<Transaction>,
    emitter: &SignalEmitter<'static>,
    update: &ProgressUpdate,
) -> zbus::Result<()> {
    {
        let mut t = iface.get_mut().await;
        t.fraction = update.fraction;
        t.phase = update.phase.clone();
        t.message = update.message.clone();
    }
    Transaction::progress(
        emitter,
        update.fraction,
        &update.phase,
        &update.message,
        update.bytes_done,
        update.bytes_total,
    )
    .await
}

/// One mutation in progress or finished.
pub(super) struct Transaction {
    pub(super) operation: Operation,
    pub(super) state: TransactionState,
    pub(super) fraction: f64,
    pub(super) phase: String,
    pub(super) message: String,
    pub(super) error_name: String,
    pub(super) error_message: String,
    pub(super) cancel: Cancel,
}

#[interface(name = "io.github.keelapp.Keel.Backend1.Transaction")]
impl Transaction {
    /// Asks the operation to stop; it ends with Finished and the Cancelled error when it could,
    /// or completes when it was past the point of no return.
    async fn cancel(&self) {
        self.cancel.cancel();
    }

    #[zbus(property)]
    async fn operation(&self) -> Operation {
        self.operation
    }

    /// running, succeeded, failed or cancelled.
    #[zbus(property)]
    async fn state(&self) -> TransactionState {
        self.state
    }

    #[zbus(property)]
    async fn fraction(&self) -> f64 {
        self.fraction
    }

    #[zbus(property)]
    async fn phase(&self) -> &str {
        &self.phase
    }

    #[zbus(property)]
    async fn message(&self) -> &str {
        &self.message
    }

    #[zbus(property)]
    async fn error_name(&self) -> &str {
        &self.error_name
    }

    #[zbus(property)]
    async fn error_message(&self) -> &str {
        &self.error_message
    }

    #[zbus(signal)]
    async fn progress(
        emitter: &SignalEmitter<'_>,
        fraction: f64,
        phase: &str,
        message: &str,
        bytes_done: u64,
        bytes_total: u64,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn finished(
        emitter: &SignalEmitter<'_>,
        success: bool,
        error_name: &str,
        message: &str,
    ) -> zbus::Result<()>;
}
