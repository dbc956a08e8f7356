//! `latentscope tag <dataset> list|add|remove|delete`.

use anyhow::Result;

use super::{Context, outln};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset.
    dataset: String,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// List the tags and their sizes.
    List,
    /// Add rows to a tag (created if needed).
    Add {
        /// The tag name.
        name: String,
        /// Row indices.
        #[arg(required = true)]
        rows: Vec<u64>,
    },
    /// Remove rows from a tag.
    Remove {
        /// The tag name.
        name: String,
        /// Row indices.
        #[arg(required = true)]
        rows: Vec<u64>,
    },
    /// Delete a tag.
    Delete {
        /// The tag name.
        name: String,
    },
}

pub(crate) fn execute(ctx: &Context, args: Args) -> Result<()> {
    let ds = ctx.open(&args.dataset)?;
    match args.action {
        Action::List => {
            let tags = ds.tags()?;
            if tags.is_empty() {
                outln!("no tags in {}", args.dataset);
            }
            for t in tags {
                outln!("{t}\t{} rows", ds.tag_rows(&t)?.len());
            }
        }
        Action::Add { name, rows } => {
            let n = ds.add_to_tag(&name, &rows)?;
            outln!("tag {name:?} now has {n} rows");
        }
        Action::Remove { name, rows } => {
            let n = ds.remove_from_tag(&name, &rows)?;
            outln!("tag {name:?} now has {n} rows");
        }
        Action::Delete { name } => {
            ds.delete_tag(&name)?;
            outln!("deleted tag {name:?}");
        }
    }
    Ok(())
}
