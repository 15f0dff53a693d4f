//! `serve`: the HTTP server, its TLS, its periodic purge, and a graceful
//! stop that lets in-flight commits finish.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::Service as _;
use actix_web::{App, HttpServer, web};
use anyhow::{Context as _, Result, bail};
use sealdrop_api::Role;
use sealdrop_store::Store as _;

use crate::cli::ServeArgs;
use crate::clock::now;
use crate::datadir::{self, DataDir};
use crate::error::ApiError;
use crate::handlers::ROUTES;
use crate::metrics::METRICS;
use crate::state::AppState;

const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_MAX_REPORT: u64 = 64 * 1024 * 1024;
const DEFAULT_MAX_UPLOAD: u64 = 16 * 1024 * 1024 * 1024;
const DEFAULT_PURGE_INTERVAL: u64 = 3600;
/// JSON bodies are small: descriptors, invites, grants of at most 10,000
/// envelopes.
const JSON_LIMIT: usize = 4 * 1024 * 1024;

struct Settings {
    bind: String,
    public_urls: Vec<String>,
    tls: Option<(PathBuf, PathBuf)>,
    insecure_http: bool,
    max_report_bytes: u64,
    max_upload_bytes: u64,
    purge_interval: u64,
    workers: Option<usize>,
    session_ttl: u64,
}

fn read_config(path: &std::path::Path) -> Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let mut map = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once('=').with_context(|| {
            format!("{} line {}: expected `key = value`", path.display(), n + 1)
        })?;
        map.insert(k.trim().to_owned(), v.trim().trim_matches('"').to_owned());
    }
    Ok(map)
}

fn settings(args: ServeArgs) -> Result<Settings> {
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => HashMap::new(),
    };
    let num = |key: &str| -> Result<Option<u64>> {
        file.get(key)
            .map(|v| {
                v.parse()
                    .with_context(|| format!("config {key}: not a number"))
            })
            .transpose()
    };
    let tls = match (
        args.tls_cert
            .or_else(|| file.get("tls_cert").map(PathBuf::from)),
        args.tls_key
            .or_else(|| file.get("tls_key").map(PathBuf::from)),
    ) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => bail!("TLS needs both a certificate and a key"),
    };
    let mut public_urls = args.public_urls;
    if let (true, Some(urls)) = (public_urls.is_empty(), file.get("public_url")) {
        public_urls = urls.split(',').map(|u| u.trim().to_owned()).collect();
    }
    Ok(Settings {
        bind: args
            .bind
            .or_else(|| file.get("bind").cloned())
            .unwrap_or_else(|| DEFAULT_BIND.to_owned()),
        public_urls,
        tls,
        insecure_http: args.insecure_http || file.get("insecure_http").is_some_and(|v| v == "true"),
        max_report_bytes: args
            .max_report_bytes
            .or(num("max_report_bytes")?)
            .unwrap_or(DEFAULT_MAX_REPORT),
        max_upload_bytes: args
            .max_upload_bytes
            .or(num("max_upload_bytes")?)
            .unwrap_or(DEFAULT_MAX_UPLOAD),
        purge_interval: args
            .purge_interval
            .or(num("purge_interval")?)
            .unwrap_or(DEFAULT_PURGE_INTERVAL)
            .max(1),
        workers: args.workers.or(num("workers")?.map(|w| w as usize)),
        session_ttl: args
            .session_ttl
            .or(num("session_ttl")?)
            .unwrap_or(crate::handlers::auth::SESSION_TTL)
            .max(1),
    })
}

/// The server's TLS set-up and the SHA-256 of its certificate, which an
/// operator of a self-signed server hands to managers (`enroll --tls-pin`).
fn tls_config(cert: &PathBuf, key: &PathBuf) -> Result<(rustls::ServerConfig, String)> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("{} is not a PEM private key", key.display()))?;
    let leaf = certs
        .first()
        .with_context(|| format!("{} holds no certificate", cert.display()))?;
    let pin =
        data_encoding::HEXLOWER.encode(&<sha2::Sha256 as sha2::Digest>::digest(leaf.as_ref()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("the TLS certificate and key do not fit together")?;
    Ok((config, pin))
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEALDROP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(data: &DataDir, args: ServeArgs) -> Result<()> {
    init_tracing();
    let settings = settings(args)?;
    let first_run = !data.exists();
    if first_run {
        data.init()?;
    }
    println!("sealdrop-server data directory: {}", data.path.display());
    let store = Arc::new(data.open_store()?);
    if first_run {
        let org = store
            .organisation(datadir::DEFAULT_ORG)?
            .context("the default organisation is missing")?;
        let token = crate::operator::issue_token(&store, org.id, Role::Manager, 7)?;
        // On the operator's terminal only: stdout, never the log.
        println!("One-time enrolment token for the first manager (valid 7 days):");
        println!("  {token}");
        println!(
            "Another: `sealdrop-server invite --role manager --data {}`",
            data.path.display()
        );
    }

    let addr: SocketAddr = settings
        .bind
        .parse()
        .with_context(|| format!("{:?} is not an address like 127.0.0.1:8080", settings.bind))?;
    if !addr.ip().is_loopback() && settings.tls.is_none() && !settings.insecure_http {
        bail!(
            "refusing plain HTTP on {addr}, which is not loopback: give --tls-cert and --tls-key, or --insecure-http behind a TLS proxy"
        );
    }
    let tls = settings
        .tls
        .as_ref()
        .map(|(c, k)| tls_config(c, k))
        .transpose()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let (tls, tls_pin) = match tls {
        Some((config, pin)) => (Some(config), Some(pin)),
        None => (None, None),
    };

    let log_key = data.log_key()?;
    let log_origin = data.log_origin()?;
    crate::checkpoints::check_head(&data.path, &*store)?;
    let store_dyn: Arc<dyn sealdrop_store::Store> = store.clone();
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let mut state = AppState {
            store: store_dyn,
            log_key,
            log_origin,
            origins: Vec::new(),
            max_report_bytes: settings.max_report_bytes,
            max_upload_bytes: settings.max_upload_bytes,
            session_ttl: settings.session_ttl,
            descriptors: std::sync::Mutex::default(),
            recent_submitters: std::sync::Mutex::default(),
            checkpoints: crate::checkpoints::Checkpoints::new(&data.path),
        };
        // Bind first to learn the port, then fix the origins before serving.
        let cell: Arc<std::sync::OnceLock<web::Data<AppState>>> =
            Arc::new(std::sync::OnceLock::new());
        let app_cell = cell.clone();
        let factory = move || {
            let state = app_cell.get().cloned();
            let mut app = App::new()
                .app_data(
                    web::JsonConfig::default()
                        .limit(JSON_LIMIT)
                        .error_handler(|e, _| ApiError::malformed("JSON body", e).into()),
                )
                .app_data(web::PayloadConfig::default().limit(JSON_LIMIT))
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| ApiError::malformed("query", e).into()),
                )
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| ApiError::not_found("resource").into()),
                )
                .wrap(
                    actix_web::middleware::ErrorHandlers::new()
                        .default_handler(crate::error::json_refusal),
                )
                .wrap_fn(|req, srv| {
                    let started = Instant::now();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await;
                        METRICS.observe(started.elapsed().as_secs_f64());
                        res
                    }
                })
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::not_found("endpoint"))
                }));
            if let Some(state) = state {
                app = app.app_data(state);
            }
            for (_, path, route) in ROUTES {
                app = app.route(path, route());
            }
            app
        };
        // Signals are ours, registered before "listening" is printed, so a
        // stop request can never arrive before it is handled.
        let mut server = HttpServer::new(factory)
            // Small responses go out at once: with Nagle's algorithm a
            // response written in two pieces waited for the client's
            // delayed acknowledgement (40 ms).
            .on_connect(|conn, _| {
                if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                    let _ = tcp.set_nodelay(true);
                }
            })
            .shutdown_timeout(30)
            .disable_signals();
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = match tls {
            Some(config) => server.bind_rustls_0_23(addr, config),
            None => server.bind(addr),
        }
        .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = server
            .addrs()
            .first()
            .copied()
            .context("bound to no address")?;
        let mut origins = settings.public_urls.clone();
        origins.push(format!("{scheme}://{bound}"));
        if bound.ip().is_loopback() {
            origins.push(format!("{scheme}://localhost:{}", bound.port()));
        }
        for o in &mut origins {
            while o.ends_with('/') {
                o.pop();
            }
        }
        state.origins = origins;
        let state = web::Data::new(state);
        if cell.set(state.clone()).is_err() {
            bail!("the server state was set twice");
        }
        use actix_web::rt::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            futures_util::future::select(Box::pin(terminate.recv()), Box::pin(interrupt.recv()))
                .await;
            tracing::info!("stopping: finishing requests in flight");
            handle.stop(true).await;
        });
        if let Some(pin) = &tls_pin {
            println!("TLS certificate SHA-256 (for `sealdrop enroll --tls-pin`): {pin}");
        }
        println!("sealdrop-server listening on {scheme}://{bound}");

        // The newest signed head, kept within a second or so.
        let head_state = state.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let s = head_state.clone();
                let _ = web::block(move || s.checkpoints.persist(false)).await;
            }
        });

        let purge_state = state.clone();
        let interval = settings.purge_interval;
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(Duration::from_secs(interval));
            loop {
                tick.tick().await;
                let s = purge_state.clone();
                match web::block(move || s.store.purge(now(), now())).await {
                    Ok(Ok(purged)) if !purged.is_empty() => {
                        tracing::info!(count = purged.len(), "purged reports past retention");
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "the retention purge failed"),
                    Err(_) => tracing::error!("the retention purge was cancelled"),
                }
            }
        });
        server.await.context("the server failed")?;
        tracing::info!("stopped; waiting for queued writes to commit");
        state.checkpoints.persist(true);
        drop(state);
        Ok::<_, anyhow::Error>(())
    })?;
    // The last reference: the writer thread commits what is queued and stops.
    drop(store);
    Ok(())
}
