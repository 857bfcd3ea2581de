//! The `flatpak` command's output, read line by line as it comes. Its output is not a TTY, so
//! flatpak prints plainly (flatpak-cli-transaction.c): the planned operations as a tab-separated
//! table (` 1.\t   \tID\tBRANCH\tOP\tREMOTE\tSIZE`), then for each operation `Updating 2/5…` and,
//! while it downloads, the same text followed by a bar and `NN%`. With `LC_ALL=C` the ellipsis and
//! the bar's blocks come out as `?`; both spellings are read.

/// What one line of output says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A row of the plan: the operation's number and the ref's id.
    Planned {
        number: u32,
        id: String,
    },
    /// Operation `number` of `total` (both 1 when there is only one) has started or moved on.
    Step {
        verb: Verb,
        number: u32,
        total: u32,
        percent: Option<u32>,
    },
    /// flatpak could not reach a remote and went on with what is installed.
    Unreachable(String),
    /// `error: …` (flatpak's last word before it gives up).
    Error(String),
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Installing,
    Updating,
    Uninstalling,
}

pub fn parse(line: &str) -> Line {
    let line = line.trim_end();
    if let Some(message) = line
        .strip_prefix("error: ")
        .or_else(|| line.strip_prefix("Error: "))
    {
        return Line::Error(message.to_owned());
    }
    if line.contains("Treating remote fetch error as non-fatal") {
        let detail = line.rsplit_once(": ").map_or(line, |(_, d)| d);
        return Line::Unreachable(detail.to_owned());
    }
    if let Some(planned) = planned(line) {
        return planned;
    }
    step(line).unwrap_or(Line::Other)
}

fn planned(line: &str) -> Option<Line> {
    let mut cells = line.split('\t');
    let number = cells.next()?.trim().strip_suffix('.')?.parse().ok()?;
    // The second cell is the progress mark (blank, ✓ or -); the third the id.
    let id = cells.nth(1)?.trim();
    (!id.is_empty()).then(|| Line::Planned {
        number,
        id: id.to_owned(),
    })
}

fn step(line: &str) -> Option<Line> {
    let (verb, rest) = [
        ("Installing", Verb::Installing),
        ("Updating", Verb::Updating),
        ("Uninstalling", Verb::Uninstalling),
    ]
    .into_iter()
    .find_map(|(word, verb)| Some((verb, line.strip_prefix(word)?)))?;
    // "Updating 2/5…", "Updating…" (one operation), "Updating 2/5… ███ 40%  1.2 MB/s".
    let rest = rest.trim_start();
    let (counts, tail) = match rest.find(['…', '?']) {
        Some(at) => (&rest[..at], &rest[at..]),
        None => return None,
    };
    let (number, total) = match counts.trim() {
        "" => (1, 1),
        counts => {
            let (n, t) = counts.split_once('/')?;
            (n.parse().ok()?, t.parse().ok()?)
        }
    };
    let percent = tail
        .split_whitespace()
        .find_map(|word| word.strip_suffix('%')?.parse::<u32>().ok())
        .map(|p| p.min(100));
    Some(Line::Step {
        verb,
        number,
        total,
        percent,
    })
}

/// How far one run of `flatpak` is, from the lines seen so far.
#[derive(Debug, Default)]
pub struct Tracker {
    /// Ids of the planned operations, by number − 1.
    planned: Vec<String>,
    pub unreachable: Vec<String>,
    pub errors: Vec<String>,
}

/// Where a run is: the fraction of it done, and which ref operation `number` of `total` is on.
#[derive(Clone, Debug, PartialEq)]
pub struct Position {
    pub fraction: f64,
    pub verb: Verb,
    pub number: u32,
    pub total: u32,
    /// The ref's id when the plan named it.
    pub id: Option<String>,
}

impl Tracker {
    /// Takes one line; returns the new position when it moved.
    pub fn feed(&mut self, line: &str) -> Option<Position> {
        match parse(line) {
            Line::Planned { number, id } => {
                let index = number.saturating_sub(1) as usize;
                if self.planned.len() <= index {
                    self.planned.resize(index + 1, String::new());
                }
                self.planned[index] = id;
                None
            }
            Line::Step {
                verb,
                number,
                total,
                percent,
            } => {
                let total = total.max(1);
                let done = f64::from(number.saturating_sub(1).min(total))
                    + f64::from(percent.unwrap_or(0)) / 100.0;
                let id = self
                    .planned
                    .get(number.saturating_sub(1) as usize)
                    .filter(|id| !id.is_empty())
                    .cloned();
                Some(Position {
                    fraction: (done / f64::from(total)).clamp(0.0, 1.0),
                    verb,
                    number,
                    total,
                    id,
                })
            }
            Line::Unreachable(detail) => {
                self.unreachable.push(detail);
                None
            }
            Line::Error(message) => {
                self.errors.push(message);
                None
            }
            Line::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `flatpak update --user -y` with two updates, as flatpak 1.16 printed it with LC_ALL=C.
    const UPDATE_C: &str = "Looking for updates?

\x20
 1.\t   \torg.test.B\tmaster\tu\ttest-repo\t< 300.2?kB
 2.\t   \torg.test.A\tmaster\tu\ttest-repo\t< 300.2?kB


Updating 1/2?
Updating 1/2?                        0%  0 bytes/s
Updating 1/2? ???????????????????? 100%
Updating 2/2?
Updating 2/2?                        0%  0 bytes/s
Updating 2/2? ?????????? 50%  1.2 MB/s  00:03
Updates complete.
";

    #[test]
    fn follows_an_update_through_its_plan() {
        let mut tracker = Tracker::default();
        let positions: Vec<Position> = UPDATE_C.lines().filter_map(|l| tracker.feed(l)).collect();
        let fractions: Vec<f64> = positions.iter().map(|p| p.fraction).collect();
        assert_eq!(fractions, [0.0, 0.0, 0.5, 0.5, 0.5, 0.75]);
        assert_eq!(positions[3].id.as_deref(), Some("org.test.A"));
        assert_eq!(positions[0].id.as_deref(), Some("org.test.B"));
        assert!(
            positions
                .iter()
                .all(|p| p.verb == Verb::Updating && p.total == 2)
        );
        assert!(tracker.errors.is_empty());
    }

    #[test]
    fn reads_the_utf8_spelling_and_single_operations() {
        assert_eq!(
            parse("Uninstalling…"),
            Line::Step {
                verb: Verb::Uninstalling,
                number: 1,
                total: 1,
                percent: None
            }
        );
        assert_eq!(
            parse("Installing 3/4… ████▌               23%  4.1 MB/s"),
            Line::Step {
                verb: Verb::Installing,
                number: 3,
                total: 4,
                percent: Some(23)
            }
        );
        assert_eq!(
            parse(" 1.\t   \torg.test.Other\tmaster\tr"),
            Line::Planned {
                number: 1,
                id: "org.test.Other".into()
            }
        );
        // Words that only start like a step are not steps.
        assert_eq!(parse("Updating appstream data for remote x"), Line::Other);
        assert_eq!(parse("Updates complete."), Line::Other);
        assert_eq!(parse("Nothing to do."), Line::Other);
    }

    #[test]
    fn collects_errors_and_unreachable_remotes() {
        let mut tracker = Tracker::default();
        for line in [
            "Looking for updates?",
            "F: Warning: Treating remote fetch error as non-fatal since app/org.test.A/x86_64/master is already installed: No such ref 'app/org.test.A/x86_64/master' in remote test-repo",
            "error: app/org.test.Nope/x86_64/master not installed",
        ] {
            assert_eq!(tracker.feed(line), None);
        }
        assert_eq!(
            tracker.unreachable,
            ["No such ref 'app/org.test.A/x86_64/master' in remote test-repo"]
        );
        assert_eq!(
            tracker.errors,
            ["app/org.test.Nope/x86_64/master not installed"]
        );
    }
}
