//! The test accuracy and the confusion matrix of a finished evaluation.

use glassbox_lab::vision::data::CLASSES;
use glassbox_lab::vision::train::Evaluation;
use leptos::prelude::*;

/// The accuracy (with the backend it ran on, `ran`) and the confusion matrix, each cell shaded by
/// its share of the row: green on the diagonal, orange off it.
pub fn accuracy_and_confusion(e: Evaluation, ran: &'static str) -> impl IntoView {
    view! {
        <p class="big-number">"Test accuracy: "<strong data-out="accuracy" data-backend=ran>{format!("{:.2}%", 100.0 * e.accuracy)}</strong></p>
        <div class="table-scroll">
        <table class="numbers confusion" aria-label="Confusion matrix (rows: true class, columns: predicted)">
            <thead><tr><th scope="col">"true \\ predicted"</th>
                {(0..10).map(|c| view! { <th scope="col" title=CLASSES[c]>{short(c)}</th> }).collect_view()}
                <th scope="col">"accuracy"</th></tr></thead>
            <tbody>
                {(0..10).map(|r| {
                    let row = e.confusion[r].clone();
                    let total = row.iter().sum::<u32>().max(1) as f64;
                    view! {
                        <tr>
                            <th scope="row">{CLASSES[r]}</th>
                            {row.into_iter().enumerate().map(|(c, v)| {
                                let share = v as f64 / total;
                                let colour = format!("rgba({}, {:.2})", if c == r { "0, 158, 115" } else { "213, 94, 0" }, (share * 1.5).min(0.85));
                                view! { <td style:background=colour>{v}</td> }
                            }).collect_view()}
                            <td>{format!("{:.1}%", 100.0 * e.per_class[r])}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// A class's short name, for column headers and labels.
pub fn short(c: usize) -> &'static str {
    [
        "T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
        "Boot",
    ]
    .get(c)
    .copied()
    .unwrap_or("?")
}
