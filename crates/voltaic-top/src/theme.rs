//! Colours that stay readable on light and dark terminals.
//!
//! Text is always drawn in the terminal's own foreground colour (`Color::Reset`), so it can never vanish
//! into the background; colour only marks accents (gauge fill, chart lines, the state). Each palette
//! avoids the ANSI colours that disappear on its background: the bright and yellow ones on light
//! themes, dark blue on dark themes, and black, white and the greys on both (battop drew labels in
//! white and black, unreadable on one theme or the other: rust-battop issue #2).

use ratatui::style::Color;

/// Which palette to draw with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// For terminals with a dark background (the default when the background is unknown).
    #[default]
    Dark,
    /// For terminals with a light background.
    Light,
    /// No colour at all: the terminal's default colours and bold/dim/reverse only (`NO_COLOR`).
    Mono,
}

impl Theme {
    /// The theme for the background named by a `COLORFGBG` value (`"15;0"`, `"0;default;15"`: the last
    /// field is the background's ANSI colour number, set by rxvt, Konsole, iTerm2 and others).
    /// Backgrounds 7 and 9–15 are light, 0–6 and 8 dark; anything else (absent, `default`, garbage)
    /// gives [`Theme::Dark`].
    #[must_use]
    pub fn from_colorfgbg(value: Option<&str>) -> Theme {
        let background = value
            .and_then(|v| v.rsplit(';').next())
            .and_then(|bg| bg.trim().parse::<u8>().ok());
        match background {
            Some(7 | 9..=15) => Theme::Light,
            _ => Theme::Dark,
        }
    }

    /// The theme `auto` picks from the environment: [`Theme::Mono`] when `NO_COLOR` is set (non-empty,
    /// <https://no-color.org>), else from `COLORFGBG`, else dark.
    #[must_use]
    pub fn from_env() -> Theme {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Theme::Mono;
        }
        Theme::from_colorfgbg(std::env::var("COLORFGBG").ok().as_deref())
    }

    /// The colours of this theme.
    #[must_use]
    pub fn palette(self) -> Palette {
        match self {
            Theme::Dark => Palette {
                accent: Color::Cyan,
                charging: Color::LightGreen,
                discharging: Color::Yellow,
                warn: Color::LightRed,
                charge: Color::LightCyan,
                voltage: Color::LightMagenta,
                temperature: Color::LightRed,
                series: [
                    Color::LightCyan,
                    Color::Yellow,
                    Color::LightMagenta,
                    Color::LightGreen,
                    Color::LightBlue,
                    Color::LightRed,
                ],
            },
            Theme::Light => Palette {
                accent: Color::Blue,
                charging: Color::Green,
                discharging: Color::Red,
                warn: Color::Red,
                charge: Color::Blue,
                voltage: Color::Cyan,
                temperature: Color::Magenta,
                series: [
                    Color::Blue,
                    Color::Magenta,
                    Color::Green,
                    Color::Red,
                    Color::Cyan,
                    Color::Reset,
                ],
            },
            Theme::Mono => Palette {
                accent: Color::Reset,
                charging: Color::Reset,
                discharging: Color::Reset,
                warn: Color::Reset,
                charge: Color::Reset,
                voltage: Color::Reset,
                temperature: Color::Reset,
                series: [Color::Reset; 6],
            },
        }
    }

    /// The word used for this theme in the status line and help.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
            Theme::Mono => "no colour",
        }
    }
}

/// The accent colours of a theme. Text uses the terminal's default foreground, never one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// Tab and gauge accents.
    pub accent: Color,
    /// Charging: gauge fill and the power chart's charging line.
    pub charging: Color,
    /// Discharging: gauge fill and the power chart's discharging line.
    pub discharging: Color,
    /// Read errors and a nearly empty battery.
    pub warn: Color,
    /// The charge chart's line.
    pub charge: Color,
    /// The voltage chart's line.
    pub voltage: Color,
    /// The temperature chart's line.
    pub temperature: Color,
    /// One colour per battery in the overview's charts (cycled).
    pub series: [Color; 6],
}

impl Palette {
    /// The overview colour of the `i`-th battery.
    #[must_use]
    pub fn series(&self, i: usize) -> Color {
        self.series[i % self.series.len()]
    }

    /// Every colour of the palette (for the readability tests).
    #[must_use]
    pub fn all(&self) -> Vec<Color> {
        let mut all = vec![
            self.accent,
            self.charging,
            self.discharging,
            self.warn,
            self.charge,
            self.voltage,
            self.temperature,
        ];
        all.extend(self.series);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colorfgbg_last_field_is_the_background() {
        assert_eq!(Theme::from_colorfgbg(Some("0;15")), Theme::Light);
        assert_eq!(Theme::from_colorfgbg(Some("0;7")), Theme::Light);
        assert_eq!(Theme::from_colorfgbg(Some("15;0")), Theme::Dark);
        assert_eq!(Theme::from_colorfgbg(Some("15;8")), Theme::Dark);
        // rxvt's three-field form: fg;xpm;bg.
        assert_eq!(Theme::from_colorfgbg(Some("0;default;15")), Theme::Light);
        assert_eq!(Theme::from_colorfgbg(Some("15;default;0")), Theme::Dark);
    }

    #[test]
    fn unknown_background_is_dark() {
        assert_eq!(Theme::from_colorfgbg(None), Theme::Dark);
        assert_eq!(Theme::from_colorfgbg(Some("")), Theme::Dark);
        assert_eq!(Theme::from_colorfgbg(Some("15;default")), Theme::Dark);
        assert_eq!(Theme::from_colorfgbg(Some("garbage")), Theme::Dark);
        assert_eq!(Theme::from_colorfgbg(Some("0;300")), Theme::Dark);
    }

    /// Colours that vanish on some background: never used by any theme.
    const NEVER: [Color; 5] = [
        Color::Black,
        Color::White,
        Color::Gray,
        Color::DarkGray,
        Color::Rgb(0, 0, 0),
    ];

    #[test]
    fn no_theme_uses_black_white_or_grey() {
        for theme in [Theme::Dark, Theme::Light, Theme::Mono] {
            for c in theme.palette().all() {
                assert!(!NEVER.contains(&c), "{theme:?} uses {c:?}");
            }
        }
    }

    #[test]
    fn light_theme_avoids_pale_colours_and_dark_theme_avoids_dark_blue() {
        for c in Theme::Light.palette().all() {
            assert!(
                !matches!(
                    c,
                    Color::Yellow
                        | Color::LightYellow
                        | Color::LightCyan
                        | Color::LightGreen
                        | Color::LightMagenta
                        | Color::LightBlue
                        | Color::LightRed
                ),
                "light theme uses {c:?}"
            );
        }
        for c in Theme::Dark.palette().all() {
            assert_ne!(c, Color::Blue, "dark theme uses dark blue");
        }
        assert!(
            Theme::Mono
                .palette()
                .all()
                .into_iter()
                .all(|c| c == Color::Reset)
        );
    }
}
