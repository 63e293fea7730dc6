//! Starting a small mock and pulling each endpoint to the end.

use std::net::TcpListener;

use mock_ministries::{MockConfig, MockServer, Scale};
use serde_json::Value;

pub struct Mock {
    pub server: MockServer,
    pub client: reqwest::Client,
    pub base: String,
}

/// The day the tests' worlds are as of: their current period is 2025-12, whatever
/// today's date.
pub fn as_of() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 15).expect("a date")
}

pub async fn start(seed: u64) -> Mock {
    start_at(seed, Scale::Small).await
}

pub async fn start_at(seed: u64, scale: Scale) -> Mock {
    start_with(MockConfig {
        scale,
        seed,
        as_of: Some(as_of()),
        linkage_noise: false,
    })
    .await
}

pub async fn start_with(config: MockConfig) -> Mock {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let server = mock_ministries::start(listener, config)
        .await
        .expect("mock starts");
    let base = server.base_url();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("client");
    Mock {
        server,
        client,
        base,
    }
}

impl Mock {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    pub async fn text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.expect("text body")
    }

    /// Every MoI unit, following `page` until `total` is reached.
    pub async fn moi_units(&self, filter: &str) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let v = self
                .json(&format!(
                    "/api/v1/gazetteer/units?page={page}&per_page=5000{filter}"
                ))
                .await;
            let items = v["items"].as_array().expect("items").clone();
            let total = v["total"].as_u64().expect("total") as usize;
            let empty = items.is_empty();
            all.extend(items);
            if all.len() >= total || empty {
                break;
            }
        }
        all
    }

    /// Every MCS officer, following `page` to `meta.total_pages`.
    pub async fn mcs_officers(&self, filter: &str) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let v = self
                .json(&format!("/api/officers?page={page}&size=1000{filter}"))
                .await;
            all.extend(v["data"].as_array().expect("data").iter().cloned());
            if page >= v["meta"]["total_pages"].as_u64().expect("total_pages") {
                break;
            }
        }
        all
    }

    /// Every DHIS2 organisation unit, following `pager.nextPage`.
    pub async fn dhis2_units(&self, filter: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut url = self.url(&format!(
            "/api/organisationUnits.json?paging=true&page=1&pageSize=40&fields=id,code,name,shortName,level,path,parent[id],geometry,openingDate,closedDate,lastUpdated,organisationUnitGroups[code],attributeValues[value,attribute[code]]{filter}"
        ));
        loop {
            let v: Value = self
                .client
                .get(&url)
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("JSON");
            all.extend(
                v["organisationUnits"]
                    .as_array()
                    .expect("units")
                    .iter()
                    .cloned(),
            );
            match v["pager"]["nextPage"].as_str() {
                Some(next) => url = next.to_owned(),
                None => break,
            }
        }
        all
    }

    /// Every resource of a FHIR search, following `link[relation=next]`.
    pub async fn fhir(&self, resource: &str, filter: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut url = self.url(&format!("/fhir/{resource}?_count=100{filter}"));
        loop {
            let v: Value = self
                .client
                .get(&url)
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("JSON");
            assert_eq!(v["resourceType"], "Bundle");
            assert_eq!(v["type"], "searchset");
            for e in v["entry"].as_array().expect("entry") {
                all.push(e["resource"].clone());
            }
            let next = v["link"]
                .as_array()
                .expect("link")
                .iter()
                .find(|l| l["relation"] == "next")
                .and_then(|l| l["url"].as_str())
                .map(str::to_owned);
            match next {
                Some(next) => url = next,
                None => break,
            }
        }
        all
    }

    /// Every MEF item of a period.
    pub async fn payroll(&self, period: &str) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let v = self
                .json(&format!("/api/payroll/{period}?page={page}&size=1000"))
                .await;
            assert_eq!(v["period"], period);
            all.extend(v["items"].as_array().expect("items").iter().cloned());
            if page >= v["total_pages"].as_u64().expect("total_pages") {
                break;
            }
        }
        all
    }
}

/// Reads a CSV export: checks the BOM and CRLF line ends, returns header and rows.
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let body = text.strip_prefix('\u{FEFF}').expect("starts with a BOM");
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR followed by LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("a bare LF ends a line; lines must end in CRLF"),
            _ => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last line ends in CRLF"
    );
    let header = rows.remove(0);
    (header, rows)
}

pub fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name}"))
}
