//! The `latentscope` command-line tool.

mod cli;

use std::process::ExitCode;

/// Keeps the parquet crate's panics on corrupt files quiet: the readers
/// catch them and report a typed error naming the file (latentscope-io's
/// `BatchReader`); every other panic is printed as usual.
fn quiet_parquet_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !latentscope::io::table::in_guarded_read() {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    quiet_parquet_panics();
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`latentscope show x | head -1`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            // The exit status of the first typed error in the chain
            // (docs/errors.md), else 1.
            let code = e
                .chain()
                .find_map(|c| {
                    c.downcast_ref::<latentscope::Error>()
                        .map(latentscope::Error::exit_code)
                        .or_else(|| {
                            c.downcast_ref::<latentscope::server::ApiError>()
                                .map(latentscope::server::ApiError::exit_code)
                        })
                })
                .unwrap_or(1);
            ExitCode::from(code)
        }
    }
}
