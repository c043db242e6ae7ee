//! The invocations a shell prompt or a status bar runs many times a minute (`voltaic`, `voltaic --json`,
//! `-a`, `-v`, `show`, `--color WHEN`), read without building clap's command.
//!
//! Building and walking the clap definition of every subcommand costs about 220 k instructions, a
//! quarter of a whole `voltaic --json` run, although these forms need none of it. Anything else (another
//! flag, a subcommand, a combined `-av`, a repeat, which clap reports as an error, a non-UTF-8 word)
//! goes to clap, so help, errors and every other form are clap's own. The tests below check every
//! accepted form against what clap makes of it.

use std::ffi::OsString;

use crate::{Cli, ColorChoice, Command, OutputArgs, SourceArgs};

/// `Some` when every argument (after the program name) is one of the quick forms, each at most once.
pub(crate) fn parse(args: &[OsString]) -> Option<Cli> {
    let mut all = None;
    let mut json = None;
    let mut verbose = None;
    let mut color = None;
    let mut show = None;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let word = word.to_str()?;
        let slot = match word {
            "-a" | "--all" => &mut all,
            "--json" => &mut json,
            "-v" | "--verbose" => &mut verbose,
            "show" => &mut show,
            "--color" => {
                set(&mut color, color_choice(words.next()?.to_str()?)?)?;
                continue;
            }
            _ => {
                let value = word.strip_prefix("--color=")?;
                set(&mut color, color_choice(value)?)?;
                continue;
            }
        };
        set(slot, ())?;
    }
    Some(Cli {
        source: SourceArgs {
            replay: None,
            all: all.is_some(),
        },
        output: OutputArgs {
            json: json.is_some(),
            format: None,
            color: color.unwrap_or(ColorChoice::Auto),
            verbose: verbose.is_some(),
        },
        command: show.map(|()| Command::Show),
    })
}

/// Fills `slot` once; a second time is clap's business (it refuses repeated flags).
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// The `--color` values, spelt as clap's `ValueEnum` spells them (case matters there too).
fn color_choice(value: &str) -> Option<ColorChoice> {
    match value {
        "auto" => Some(ColorChoice::Auto),
        "always" => Some(ColorChoice::Always),
        "never" => Some(ColorChoice::Never),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// What the reading part of the program looks at.
    fn seen(cli: &Cli) -> impl PartialEq + std::fmt::Debug {
        (
            cli.source.replay.clone(),
            cli.source.all,
            cli.output.json,
            cli.output.format,
            cli.output.color as u8,
            cli.output.verbose,
            match cli.command {
                None => "none",
                Some(Command::Show) => "show",
                Some(_) => "other",
            },
        )
    }

    fn words(line: &[&str]) -> Vec<OsString> {
        line.iter().map(OsString::from).collect()
    }

    #[test]
    fn every_quick_form_is_what_clap_makes_of_it() {
        let vocabulary = [
            "--json",
            "-a",
            "--all",
            "-v",
            "--verbose",
            "show",
            "--color",
            "always",
            "never",
            "auto",
            "--color=never",
            "--color=Never",
            "-av",
            "--format",
            "json",
            "--replay",
            "record",
            "-",
            "--",
            "--json=1",
        ];
        let mut accepted = 0;
        // Every line of up to three words from the vocabulary.
        let mut lines: Vec<Vec<&str>> = vec![vec![]];
        let mut shorter: Vec<Vec<&str>> = vec![vec![]];
        for _ in 0..3 {
            shorter = shorter
                .iter()
                .flat_map(|line| {
                    vocabulary.iter().map(move |word| {
                        let mut next = line.clone();
                        next.push(*word);
                        next
                    })
                })
                .collect();
            lines.extend(shorter.iter().cloned());
        }
        for line in &lines {
            let Some(quick) = parse(&words(line)) else {
                continue;
            };
            accepted += 1;
            let clap = Cli::try_parse_from(std::iter::once("voltaic").chain(line.iter().copied()))
                .unwrap_or_else(|e| panic!("{line:?}: quick form refused by clap: {e}"));
            assert_eq!(seen(&quick), seen(&clap), "{line:?}");
        }
        // The forms status bars use are taken quickly, not handed on.
        for line in [
            &[][..],
            &["--json"],
            &["-a", "--json"],
            &["show", "--json", "--color", "never"],
            &["--color=always", "-v"],
        ] {
            assert!(parse(&words(line)).is_some(), "{line:?}");
        }
        assert!(accepted > 100, "only {accepted} quick forms");
    }

    #[test]
    fn repeats_other_flags_and_non_utf8_go_to_clap() {
        for line in [
            &["--json", "--json"][..],
            &["-a", "--all"],
            &["--color", "never", "--color=always"],
            &["--color"],
            &["--color", "Never"],
            &["-av"],
            &["--replay", "x"],
            &["show", "show"],
            &["--help"],
        ] {
            assert!(parse(&words(line)).is_none(), "{line:?}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            assert!(parse(&[OsString::from_vec(vec![0xff])]).is_none());
        }
    }
}
