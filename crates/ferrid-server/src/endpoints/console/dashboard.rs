//! `GET /admin`: the dashboard. Sign-ins over 24 hours and 30 days (from
//! the audit log), tokens issued per grant (the shared hourly counts),
//! live sessions, locked accounts, and each algorithm's signing key with
//! its age and next rotation; charts drawn as SVG on the server.

use actix_web::{web, HttpRequest, HttpResponse};
use ferrid_pages::chart::{self, Bar, Series};
use ferrid_pages::console::{DashboardPage, FieldErrors, Figure, KeyAge};
use ferrid_tokens::KeyState;

use crate::endpoints::console::{signed_in, ConsoleError, Page};
use crate::state::AppState;

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

const SIGN_IN_SERIES: [Series; 2] = [
    Series {
        name: "succeeded",
        class: "ok",
    },
    Series {
        name: "failed or refused",
        class: "bad",
    },
];

/// Sign-in counts per bucket: `(successes, failures)`.
fn sign_in_bars(
    buckets: Vec<(i64, Vec<(String, i64)>)>,
    label: impl Fn(i64, usize) -> String,
    title: impl Fn(i64) -> String,
) -> Vec<Bar> {
    buckets
        .into_iter()
        .enumerate()
        .map(|(index, (start, counts))| {
            let succeeded: i64 = counts
                .iter()
                .filter(|(outcome, _)| outcome == "success")
                .map(|(_, count)| count)
                .sum();
            let failed: i64 = counts
                .iter()
                .filter(|(outcome, _)| outcome != "success")
                .map(|(_, count)| count)
                .sum();
            Bar {
                label: label(start, index),
                title: format!(
                    "{}: {succeeded} succeeded, {failed} failed or refused",
                    title(start)
                ),
                values: vec![succeeded, failed],
            }
        })
        .collect()
}

fn hour_of_day(time: i64) -> String {
    let seconds = time.rem_euclid(DAY);
    format!("{:02}:00", seconds / HOUR)
}

/// `MM-DD` of a time, for the axis.
fn month_day(time: i64) -> String {
    date(time).get(5..).unwrap_or_default().to_owned()
}

fn date(time: i64) -> String {
    ferrid_service::clock::timestamp(time)
        .get(..10)
        .unwrap_or_default()
        .to_owned()
}

/// The dashboard.
pub async fn show(
    state: web::Data<AppState>,
    http: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let admin = signed_in(&state, &http).await?;
    let now = state.now();
    let this_hour = now - now.rem_euclid(HOUR);
    let today = now - now.rem_euclid(DAY);
    let figures = state
        .db(move |store| {
            let hourly = (0..24)
                .map(|back| {
                    let start = this_hour - (23 - back) * HOUR;
                    Ok((start, store.sign_in_counts(start, start + HOUR)?))
                })
                .collect::<ferrid_store::StoreResult<Vec<_>>>()?;
            let daily = (0..30)
                .map(|back| {
                    let start = today - (29 - back) * DAY;
                    Ok((start, store.sign_in_counts(start, start + DAY)?))
                })
                .collect::<ferrid_store::StoreResult<Vec<_>>>()?;
            let tokens = store.token_counts((today - 29 * DAY) / HOUR)?;
            let sessions = store.count_active_sessions(now)?;
            let locked = store.count_locked(now)?;
            let keys = store.list_signing_keys()?;
            Ok((hourly, daily, tokens, sessions, locked, keys))
        })
        .await?;
    let (hourly, daily, tokens, sessions, locked, keys) = figures;
    let locale = crate::locale::current();
    let sign_ins_day = chart::stacked_bars(
        "day",
        "Sign-ins per hour, last 24 hours (UTC)",
        &SIGN_IN_SERIES,
        &sign_in_bars(
            hourly,
            |start, index| {
                if index % 4 == 0 {
                    hour_of_day(start)
                } else {
                    String::new()
                }
            },
            |start| format!("{} {}", date(start), hour_of_day(start)),
        ),
        locale,
    );
    let sign_ins_month = chart::stacked_bars(
        "month",
        "Sign-ins per day, last 30 days (UTC)",
        &SIGN_IN_SERIES,
        &sign_in_bars(
            daily,
            |start, index| {
                if index % 7 == 0 {
                    month_day(start)
                } else {
                    String::new()
                }
            },
            date,
        ),
        locale,
    );
    let grants = ["authorization_code", "refresh_token", "client_credentials"];
    let token_series = [
        Series {
            name: "authorization code",
            class: "grant-code",
        },
        Series {
            name: "refresh token",
            class: "grant-refresh",
        },
        Series {
            name: "client credentials",
            class: "grant-client",
        },
    ];
    let token_bars: Vec<Bar> = (0..30)
        .map(|back| {
            let start = today - (29 - back) * DAY;
            let values: Vec<i64> = grants
                .iter()
                .map(|grant| {
                    tokens
                        .iter()
                        .filter(|count| {
                            count.label == *grant
                                && count.hour * HOUR >= start
                                && count.hour * HOUR < start + DAY
                        })
                        .map(|count| count.count)
                        .sum()
                })
                .collect();
            Bar {
                label: if back % 7 == 0 {
                    month_day(start)
                } else {
                    String::new()
                },
                title: format!(
                    "{}: {} by authorization code, {} by refresh token, {} by client credentials",
                    date(start),
                    values[0],
                    values[1],
                    values[2]
                ),
                values,
            }
        })
        .collect();
    let tokens_month = chart::stacked_bars(
        "tokens",
        "Token responses per day and grant, last 30 days (UTC)",
        &token_series,
        &token_bars,
        locale,
    );
    let policy = &state.key_policy;
    let key_ages = keys
        .iter()
        .filter(|key| key.state == KeyState::Current)
        .map(|key| KeyAge {
            alg: key.alg.as_str().to_owned(),
            kid: key.kid.clone(),
            age_days: (now - key.activates_at).max(0) / DAY,
            next_rotation: ferrid_service::clock::timestamp(
                key.activates_at + policy.rotation_interval,
            ),
        })
        .collect();
    let page = Page::new(&state, &http, &admin);
    let view = DashboardPage {
        frame: page.frame("dashboard"),
        figures: vec![
            Figure {
                label: "active sessions",
                value: sessions,
                link: None,
            },
            Figure {
                label: "locked sign-in names and second factors",
                value: locked,
                link: Some("/admin/audit?event=account.lock"),
            },
        ],
        sign_ins_day,
        sign_ins_month,
        tokens_month,
        keys: key_ages,
    };
    page.respond(&view, &FieldErrors::none())
}
