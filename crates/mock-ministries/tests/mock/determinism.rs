//! The same seed gives byte-identical responses; another seed another world.

use crate::harness::{Mock, start};

const PATHS: &[&str] = &[
    "/api/v1/gazetteer/units?page=1&per_page=10000",
    "/api/v1/gazetteer/units?page=2&per_page=10000",
    "/api/officers?page=1&size=10000",
    "/api/organisationUnits.json?paging=false",
    "/api/organisationUnits.json?page=2&pageSize=50",
    "/fhir/Practitioner?_count=10000",
    "/fhir/PractitionerRole?_count=100&page=2",
    "/emis/export/schools.csv",
    "/emis/export/teachers.csv",
    "/api/payroll/2025-12?size=10000",
    "/api/payroll/2024-03?size=10000",
];

/// Every body, asked for under one Host so absolute links compare equal.
async fn bodies(mock: &Mock) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for path in PATHS {
        let response = mock
            .client
            .get(mock.url(path))
            .header("Host", "mock.example")
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 200, "{path}");
        out.push(response.bytes().await.expect("body").to_vec());
    }
    out
}

#[tokio::test]
async fn same_seed_same_bytes_other_seed_other_world() {
    let (a, b, c) = tokio::join!(start(11), start(11), start(12));
    assert_eq!(a.server.truth(), b.server.truth());
    let (body_a, body_b, body_c) = tokio::join!(bodies(&a), bodies(&b), bodies(&c));
    for (i, path) in PATHS.iter().enumerate() {
        assert!(body_a[i] == body_b[i], "{path} differs under one seed");
    }
    assert_ne!(a.server.truth(), c.server.truth());
    for (i, path) in PATHS.iter().enumerate() {
        if !path.starts_with("/api/v1/gazetteer") {
            assert!(
                body_a[i] != body_c[i],
                "{path} is the same under another seed"
            );
        }
    }
    let next = String::from_utf8(body_a[4].clone()).expect("UTF-8");
    assert!(
        next.contains("http://mock.example/api/organisationUnits.json?"),
        "links follow the Host header"
    );
    tokio::join!(a.server.stop(), b.server.stop(), c.server.stop());
}
