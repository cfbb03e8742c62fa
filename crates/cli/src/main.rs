//! `glassbox`: runs the textbook's experiments natively and prints one JSON object per command.
//! GPU commands use any adapter wgpu finds natively (Vulkan; Mesa's lavapipe on a CPU-only machine:
//! `VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json WGPU_BACKEND=vulkan`).
//! `--out DIR` also writes the chapter's figures (SVG) and their data (CSV). Commands that use the
//! committed data set and weights (`assets/`) run from the repository root.
//!
//! One file per topic's subcommands (clap, derive): `maml`, `vision` (image, data), `finetune`,
//! `prune`, `quant`, `attention`, `lm`, `bench`, `gpu`; every command answers `--help`. Exit status: 0 with the
//! JSON on stdout; 2 with one line on stderr when an option or its value is wrong (checked before
//! anything runs, so nothing is printed or written); 1 with one line on stderr when anything else
//! fails (a missing asset file, no GPU, a kernel that does not match its CPU reference).

mod assets;
mod attention;
mod bench;
mod clap_errors;
mod finetune;
mod finetune_figures;
mod gpu;
mod lm;
mod maml;
mod meta_prompt;
mod out_dir;
mod prompting;
mod prune;
mod quant;
mod ranges;
mod soft_prompting;
mod vision;

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::io::Write as _;
use std::process::ExitCode;

/// The textbook's experiments, natively: one JSON object per command on stdout.
#[derive(Parser)]
#[command(name = "glassbox", version)]
struct Cli {
    #[command(subcommand)]
    topic: Topic,
}

#[derive(Subcommand)]
enum Topic {
    /// Chapter 1: meta-learned feature weights (the alias toy, closed-form and gradient MAML).
    #[command(subcommand)]
    Maml(maml::Command),
    /// The image lab: train, evaluate and measure the Fashion-MNIST network.
    #[command(subcommand)]
    Image(vision::ImageCommand),
    /// Build the committed data set.
    #[command(subcommand)]
    Data(vision::DataCommand),
    /// Chapter 6: fine-grained and channel pruning of the committed network.
    #[command(subcommand)]
    Prune(prune::Command),
    /// Chapter 7: linear, k-means and integer-only quantization.
    #[command(subcommand)]
    Quant(quant::Command),
    /// Chapter 2: the captioner's attention masks, and the cost of global and windowed attention.
    #[command(subcommand)]
    Attention(attention::Command),
    /// Chapter 3: surgical fine-tuning under distribution shift (corruptions, label flip, stage noise).
    #[command(subcommand)]
    Finetune(finetune::Command),
    /// Chapters 4 and 5: the character-level language model (corpus, training, evaluation, sampling).
    #[command(subcommand)]
    Lm(lm::Command),
    /// Native timings: MAML, the image network, the GPU kernels.
    #[command(subcommand)]
    Bench(bench::Command),
    /// The GPU kernels against their CPU references.
    #[command(subcommand)]
    Gpu(gpu::Command),
}

/// Why a command printed no result.
#[derive(Debug)]
pub enum Failure {
    /// A value the lab refuses once the options are read (a layer the network does not have):
    /// exit status 2, like a value out of its range.
    Input(String),
    /// Anything else (a missing asset file, no GPU): exit status 1.
    Run(String),
}

impl Failure {
    /// A value the lab refused, with the options it comes from named first.
    pub fn input_for(options: &'static str) -> impl FnOnce(String) -> Failure {
        move |e| Failure::Input(format!("{options}: {e}"))
    }

    /// A value the lab refused, its message's leading label (the setting as the page names it)
    /// replaced by the option's name: `(label, option)` pairs, first match wins.
    pub fn input_relabelled(
        labels: &'static [(&'static str, &'static str)],
    ) -> impl FnOnce(String) -> Failure {
        move |e| {
            for (label, option) in labels {
                if let Some(rest) = e.strip_prefix(label) {
                    return Failure::Input(format!("{option}{rest}"));
                }
            }
            Failure::Input(e)
        }
    }
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Run(e)
    }
}

impl From<&str> for Failure {
    fn from(e: &str) -> Self {
        Failure::Run(e.to_string())
    }
}

fn run(topic: Topic) -> Result<serde_json::Value, Failure> {
    match topic {
        Topic::Maml(c) => c.run(),
        Topic::Image(c) => c.run(),
        Topic::Data(c) => c.run(),
        Topic::Prune(c) => c.run(),
        Topic::Quant(c) => c.run(),
        Topic::Attention(c) => c.run(),
        Topic::Finetune(c) => c.run(),
        Topic::Lm(c) => c.run(),
        Topic::Bench(c) => c.run(),
        Topic::Gpu(c) => c.run(),
    }
}

/// Every option that takes a value also takes a negative number (`--rmin -0.25`), so that a
/// negative count reaches its range check instead of reading as an unknown option.
fn negative_numbers_allowed(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|a| {
        if a.get_action().takes_values() {
            a.allow_negative_numbers(true)
        } else {
            a
        }
    })
    .mut_subcommands(negative_numbers_allowed)
}

fn main() -> ExitCode {
    let parsed = negative_numbers_allowed(Cli::command())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        // --help and --version print as clap prints them (status 0); so does the help shown when
        // a topic is given without its subcommand (on stderr, status 2).
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
        Err(e) => {
            eprintln!("glassbox: {}", clap_errors::one_line(&e));
            return ExitCode::from(2);
        }
    };
    match run(cli.topic) {
        Ok(v) => {
            // A closed pipe (`| head`) is not an error of the command.
            let _ = writeln!(std::io::stdout(), "{v}");
            ExitCode::SUCCESS
        }
        Err(Failure::Input(e)) => {
            eprintln!("glassbox: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("glassbox: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_well_formed() {
        negative_numbers_allowed(Cli::command()).debug_assert();
    }
}
