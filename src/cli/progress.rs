//! Turns the library's progress events into terminal progress bars.

use std::ops::ControlFlow;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use latentscope::{Progress, ProgressEvent};

/// A progress bar per stage, drawn on stderr (hidden when it is not a terminal).
pub(crate) struct Bars {
    current: Mutex<Option<(String, ProgressBar)>>,
    unit: &'static str,
}

impl Bars {
    pub(crate) fn new(unit: &'static str) -> Self {
        Self {
            current: Mutex::new(None),
            unit,
        }
    }

    fn bar_for(&self, stage: &str, total: Option<u64>) -> ProgressBar {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            format!(
                "{{prefix:>10}} [{{bar:30}}] {{human_pos}}/{{human_len}} {} ({{per_sec}}, eta {{eta}})",
                self.unit
            )
        } else {
            format!(
                "{{prefix:>10}} {{spinner}} {{human_pos}} {} ({{per_sec}})",
                self.unit
            )
        };
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(stage.to_string());
        bar
    }

    pub(crate) fn finish(&self) {
        if let Some((_, bar)) = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bars {
    fn update(&self, event: ProgressEvent<'_>) -> ControlFlow<()> {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let same = matches!(&*current, Some((s, _)) if s == event.stage);
        if !same {
            if let Some((_, bar)) = current.take() {
                bar.finish_and_clear();
            }
            *current = Some((
                event.stage.to_string(),
                self.bar_for(event.stage, event.total),
            ));
        }
        if let Some((_, bar)) = &*current {
            if let Some(t) = event.total {
                bar.set_length(t);
            }
            bar.set_position(event.done);
        }
        ControlFlow::Continue(())
    }
}
