//! Exports of the monthly figures: the 12 months ending with the one asked for, one row per
//! month, as CSV (UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it as UTF-8)
//! or XLSX (rust_xlsxwriter). Column headers follow the page's language.
//!
//! Leaves out: case lists (the board's `/v1/cases` is the machine-readable form).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook};

use super::i18n::Lang;
use super::pages::{MonthParam, last_12_months, month_of};
use super::session::ApiScope;
use crate::http::cases::{MonthlyDto, RateDto};
use crate::http::{ApiError, AppState};

/// One cell of an export row.
enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

fn headers(lang: Lang) -> Vec<String> {
    let mut columns = vec![lang.t("month")];
    for key in ["count.received", "count.dispatched", "count.completed", "count.return_visited"] {
        columns.push(lang.t(key));
    }
    for rate in ["handling_rate", "timeliness_rate", "satisfaction_rate", "return_visit_rate"] {
        let name = lang.t(rate);
        columns.push(format!("{name} %"));
        columns.push(format!("{name} ({})", if lang == Lang::Zh { "分子/分母" } else { "num/den" }));
    }
    columns
}

fn row(month: &MonthlyDto) -> Vec<Cell> {
    let mut cells = vec![Cell::Text(month.month.clone())];
    for count in [month.all.received, month.all.dispatched, month.all.completed, month.all.return_visited] {
        cells.push(Cell::Number(count as f64));
    }
    let rates: [&RateDto; 4] =
        [&month.handling_rate, &month.timeliness_rate, &month.satisfaction_rate, &month.return_visit_rate];
    for rate in rates {
        cells.push(rate.percent.map_or(Cell::Empty, Cell::Number));
        cells.push(Cell::Text(format!("{}/{}", rate.numerator, rate.denominator)));
    }
    cells
}

async fn months(state: &AppState, team_id: i64, param: MonthParam) -> Result<Vec<MonthlyDto>, ApiError> {
    let last = month_of(state, param.month.as_deref())?;
    last_12_months(state, team_id, last).await
}

fn attachment(content_type: &'static str, name: String, body: Vec<u8>) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).expect("ascii file name");
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

/// CSV field quoting (RFC 4180): quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// `GET /console/monthly.csv?month=YYYY-MM`.
pub async fn csv(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    request_headers: HeaderMap,
    Query(param): Query<MonthParam>,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&request_headers);
    let months = months(&state, scope.team_id, param).await?;
    let mut text = String::from("\u{feff}");
    text.push_str(&headers(lang).iter().map(|column| csv_field(column)).collect::<Vec<_>>().join(","));
    text.push_str("\r\n");
    for month in &months {
        let fields: Vec<String> = row(month)
            .into_iter()
            .map(|cell| match cell {
                Cell::Text(text) => csv_field(&text),
                Cell::Number(number) => number.to_string(),
                Cell::Empty => String::new(),
            })
            .collect();
        text.push_str(&fields.join(","));
        text.push_str("\r\n");
    }
    let last = months.last().map_or_else(String::new, |month| month.month.clone());
    Ok(attachment("text/csv; charset=utf-8", format!("kefu-monthly-{last}.csv"), text.into_bytes()))
}

/// `GET /console/monthly.xlsx?month=YYYY-MM`.
pub async fn xlsx(
    State(state): State<AppState>,
    ApiScope(scope): ApiScope,
    request_headers: HeaderMap,
    Query(param): Query<MonthParam>,
) -> Result<Response, ApiError> {
    let lang = Lang::of(&request_headers);
    let months = months(&state, scope.team_id, param).await?;
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name(if lang == Lang::Zh { "月度统计" } else { "Monthly figures" })?;
        let bold = Format::new().set_bold();
        for (column, title) in headers(lang).iter().enumerate() {
            sheet.write_string_with_format(0, column as u16, title, &bold)?;
        }
        for (at, month) in months.iter().enumerate() {
            for (column, cell) in row(month).into_iter().enumerate() {
                let (line, column) = (at as u32 + 1, column as u16);
                match cell {
                    Cell::Text(text) => {
                        sheet.write_string(line, column, text)?;
                    }
                    Cell::Number(number) => {
                        sheet.write_number(line, column, number)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        workbook.save_to_buffer()
    };
    let bytes = build().map_err(|err| ApiError::Internal(format!("xlsx: {err}")))?;
    let last = months.last().map_or_else(String::new, |month| month.month.clone());
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("kefu-monthly-{last}.xlsx"),
        bytes,
    ))
}
