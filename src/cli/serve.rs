//! `latentscope serve [DATA_DIR] [--host 127.0.0.1] [--port 5001] [--read-only] [--open]`.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use latentscope::server::ServeConfig;

use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The data directory to serve [default: --data-dir, $LATENT_SCOPE_DATA, else ./latent-scope-data]
    #[arg(id = "serve_dir", value_name = "DATA_DIR")]
    dir: Option<PathBuf>,
    /// The address to bind (loopback unless you say otherwise)
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The port (0: any free one)
    #[arg(long, default_value_t = 5001)]
    port: u16,
    /// Refuse every write and write nothing under the data directory
    #[arg(long)]
    read_only: bool,
    /// Open the map in a browser
    #[arg(long)]
    open: bool,
    /// Let pages of this origin call the API (CORS), e.g. http://localhost:5173
    #[arg(long, value_name = "ORIGIN")]
    cors: Option<String>,
    /// Serve the explorer from this directory instead of the built-in copy
    /// (for developing it: `latentscope-server/web/dist`)
    #[arg(long, value_name = "DIR", hide = true)]
    web_dir: Option<PathBuf>,
    /// The largest file the browser may upload, in MB
    #[arg(long, value_name = "MB", default_value_t = 1024)]
    max_upload_mb: u64,
}

impl Args {
    /// The data directory given as the argument, if any.
    pub(crate) fn dir(&self) -> Option<&PathBuf> {
        self.dir.as_ref()
    }
}

pub(crate) async fn execute(ctx: &Context, args: Args) -> Result<()> {
    let dir = ctx.dir.clone();
    let mut config = ServeConfig::new(&dir);
    config.host = args.host.clone();
    config.port = args.port;
    config.read_only = args.read_only;
    config.cors = args.cors;
    config.max_upload_bytes = args.max_upload_mb.saturating_mul(1 << 20);
    config.web_dir = args
        .web_dir
        .or_else(|| std::env::var_os("LATENTSCOPE_WEB_DIR").map(PathBuf::from));
    if !config.is_loopback() && !args.read_only {
        eprintln!(
            "warning: serving on {} without --read-only: anyone who can reach this address can change the data directory",
            args.host
        );
    }
    let read_only = args.read_only;
    let open = args.open;
    let mut address = None;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let result = latentscope::server::serve(
        config,
        |addr| {
            address = Some(addr);
            let url = format!("http://{addr}/");
            println!(
                "serving {} at {url}{} (Ctrl-C stops)",
                dir.display(),
                if read_only { ", read-only" } else { "" }
            );
            if open {
                let _ = std::process::Command::new("xdg-open").arg(&url).spawn();
            }
        },
        shutdown,
    )
    .await;
    result.with_context(|| format!("cannot serve on {}:{}", args.host, args.port))?;
    outln!("stopped");
    Ok(())
}
