//! Section "What can be tuned": the blocks of our network, with each choice's parameter count
//! and share of the network's trainable parameters.

use super::fields::TUNE_OPTIONS;
use super::state::FineTuningState;
use glassbox_lab::shift::Tune;
use leptos::prelude::*;

#[component]
pub fn Blocks() -> impl IntoView {
    let FineTuningState { lab, .. } = crate::ui::context();
    move || {
        let l = lab.get()?;
        let net = &l.pretrained;
        let total = net.param_count();
        Some(view! {
            <div class="table-scroll">
                <table class="numbers" data-out="blocks" aria-label="Tuning choices and their parameters">
                    <thead><tr><th>"Choice"</th><th>"Parameters"</th><th>"Share"</th></tr></thead>
                    <tbody>
                        {TUNE_OPTIONS.iter().filter_map(|(k, what)| {
                            let t = Tune::parse(k).ok()?;
                            let n = t.param_count(net);
                            Some(view! {
                                <tr><td>{*what}</td><td>{n}</td>
                                    <td>{format!("{:.1}%", 100.0 * n as f64 / total as f64)}</td></tr>
                            })
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        })
    }
}
