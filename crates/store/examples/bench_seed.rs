//! Seeds a benchmark database with synthetic registry data and measures the bulk
//! upsert rate.
//!
//! It drops and recreates the database, runs the migrations, then writes a small
//! gazetteer (Phnom Penh, five khans, fifty sangkats), the facilities and the staff
//! through [`Store::upsert_facilities`] and [`Store::upsert_staff`] in batches, the
//! way a sync does, and finally one assignment per staff member. Only the upsert calls
//! are timed (building the records is not), and the rates are printed on stdout as
//!
//! ```text
//! facility upsert: 15000 rows in 0.61 s = 24590 rows/s
//! staff upsert: 250000 rows in 6.20 s = 40322 rows/s
//! ```
//!
//! Progress goes to stderr. Every record is fixed by its number, so two runs write the
//! same data. Ids are predictable, so a load generator can ask for random existing
//! records without listing them first: staff number `n` (1-based) has the id
//! `00000000-0000-4000-8000-` followed by `n` as 12 lower-case hex digits, facility
//! `n` `00000000-0000-4000-9000-…`, and the assignment of staff `n`
//! `00000000-0000-4000-a000-…`.
//!
//! ```sh
//! cargo run --release -p store --example bench_seed -- \
//!     --url postgres://postgres@127.0.0.1:5432/postgres --database bench_gateway \
//!     --staff 250000 --facilities 15000
//! ```
//!
//! This is a benchmark tool: it destroys the database it is given.

use std::error::Error;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use schema::{
    AdminCode, AdminKind, AdminUnit, Assignment, CivilServantId, Date, Facility, FacilityKind,
    FacilityStatus, GeoPoint, ManagedBy, Ministry, MinistryCode, Name, NationalId, Provenance, Sex,
    SourceIdentifier, Staff, StaffStatus,
};
use store::{Store, UpsertCounts};
use tokio_postgres::NoTls;
use uuid::Uuid;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const USAGE: &str = "\
usage: bench_seed [--url URL] [--database NAME] [--staff N] [--facilities N]
                  [--batch N] [--no-assignments]

  --url URL         server to seed (default postgres://postgres@127.0.0.1:5432/postgres);
                    its database is used to drop and create NAME
  --database NAME   database to DROP and recreate (default bench_gateway)
  --staff N         staff records (default 250000)
  --facilities N    facility records (default 15000)
  --batch N         rows per upsert call (default 5000)
  --no-assignments  write no assignments (by default one per staff member)";

/// The first three groups of every seeded id; the entity's number fills the last group.
const STAFF_ID_BASE: u128 = 0x00000000_0000_4000_8000_000000000000;
const FACILITY_ID_BASE: u128 = 0x00000000_0000_4000_9000_000000000000;
const ASSIGNMENT_ID_BASE: u128 = 0x00000000_0000_4000_a000_000000000000;
/// The last group of a UUID holds 12 hex digits.
const MAX_NUMBER: usize = (1 << 48) - 1;

#[derive(Debug)]
struct Args {
    url: String,
    database: String,
    staff: usize,
    facilities: usize,
    batch: usize,
    assignments: bool,
}

impl Args {
    /// Reads `--key value` and `--key=value` arguments.
    fn parse(mut argv: impl Iterator<Item = String>) -> std::result::Result<Self, String> {
        let mut args = Self {
            url: "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
            database: "bench_gateway".to_owned(),
            staff: 250_000,
            facilities: 15_000,
            batch: 5_000,
            assignments: true,
        };
        while let Some(arg) = argv.next() {
            let (key, inline) = match arg.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (arg, None),
            };
            match key.as_str() {
                "-h" | "--help" => return Err(String::new()),
                "--no-assignments" => args.assignments = false,
                "--url" | "--database" | "--staff" | "--facilities" | "--batch" => {
                    let value = inline
                        .or_else(|| argv.next())
                        .ok_or_else(|| format!("{key} needs a value"))?;
                    let count = || {
                        value
                            .replace('_', "")
                            .parse::<usize>()
                            .map_err(|e| format!("{key} {value:?}: {e}"))
                    };
                    match key.as_str() {
                        "--url" => args.url = value.clone(),
                        "--database" => args.database = value.clone(),
                        "--staff" => args.staff = count()?,
                        "--facilities" => args.facilities = count()?,
                        _ => args.batch = count()?,
                    }
                }
                _ => return Err(format!("unknown argument {key:?}")),
            }
        }
        if args.database.is_empty()
            || !args
                .database
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(format!(
                "--database {:?} must be letters, digits and _",
                args.database
            ));
        }
        if args.batch == 0 {
            return Err("--batch must be at least 1".to_owned());
        }
        if args.facilities == 0 {
            return Err("--facilities must be at least 1 (assignments point at one)".to_owned());
        }
        if args.staff > MAX_NUMBER || args.facilities > MAX_NUMBER {
            return Err(format!("at most {MAX_NUMBER} records of a kind"));
        }
        Ok(args)
    }
}

/// The id of staff member `n` (1-based): `00000000-0000-4000-8000-` and `n` in 12 hex digits.
fn staff_id(n: usize) -> Uuid {
    Uuid::from_u128(STAFF_ID_BASE | n as u128)
}

fn facility_id(n: usize) -> Uuid {
    Uuid::from_u128(FACILITY_ID_BASE | n as u128)
}

fn assignment_id(n: usize) -> Uuid {
    Uuid::from_u128(ASSIGNMENT_ID_BASE | n as u128)
}

/// `n` written in Khmer digits (០-៩), as names and signs write numbers.
fn khmer_number(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|c| char::from_u32(0x17E0 + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
        .collect()
}

/// Phnom Penh's khans (code, Khmer name, Latin name).
const KHANS: [(&str, &str, &str); 5] = [
    ("0101", "ចំការមន", "Chamkar Mon"),
    ("0102", "ដូនពេញ", "Doun Penh"),
    ("0103", "៧មករា", "Prampir Meakkakra"),
    ("0104", "ទួលគោក", "Tuol Kouk"),
    ("0105", "ដង្កោ", "Dangkao"),
];
/// Sangkats a khan: codes `KKKK01` to `KKKK10`, none ending in 00.
const SANGKATS_PER_KHAN: usize = 10;

/// The capital, its khans and their sangkats; the sangkats' codes are where records go.
fn gazetteer() -> Result<(Vec<AdminUnit>, Vec<AdminCode>)> {
    let capital = AdminCode::parse("01")?;
    let mut units = vec![AdminUnit::new(
        capital.clone(),
        AdminKind::Capital,
        Name::parse("រាជធានីភ្នំពេញ")?,
        Some(Name::parse("Phnom Penh")?),
        None,
    )?];
    let mut communes = Vec::with_capacity(KHANS.len() * SANGKATS_PER_KHAN);
    for (code, km, latin) in KHANS {
        let khan = AdminCode::parse_child_of(code, &capital)?;
        units.push(AdminUnit::new(
            khan.clone(),
            AdminKind::Khan,
            Name::parse(&format!("ខណ្ឌ{km}"))?,
            Some(Name::parse(&format!("Khan {latin}"))?),
            Some(capital.clone()),
        )?);
        for i in 1..=SANGKATS_PER_KHAN {
            let sangkat = AdminCode::parse_child_of(&format!("{code}{i:02}"), &khan)?;
            units.push(AdminUnit::new(
                sangkat.clone(),
                AdminKind::Sangkat,
                Name::parse(&format!("សង្កាត់{km} {}", khmer_number(i)))?,
                Some(Name::parse(&format!("Sangkat {latin} {i}"))?),
                Some(khan.clone()),
            )?);
            communes.push(sangkat);
        }
    }
    Ok((units, communes))
}

/// Facility kinds in the mix, with the Khmer and Latin words their names start with.
const FACILITY_KINDS: [(FacilityKind, &str, &str); 7] = [
    (FacilityKind::HealthCentre, "មណ្ឌលសុខភាព", "Health Centre"),
    (FacilityKind::HealthPost, "ប៉ុស្តិ៍សុខភាព", "Health Post"),
    (
        FacilityKind::ReferralHospital,
        "មន្ទីរពេទ្យបង្អែក",
        "Referral Hospital",
    ),
    (FacilityKind::Preschool, "សាលាមត្តេយ្យ", "Preschool"),
    (FacilityKind::PrimarySchool, "សាលាបឋមសិក្សា", "Primary School"),
    (
        FacilityKind::LowerSecondarySchool,
        "អនុវិទ្យាល័យ",
        "Lower Secondary School",
    ),
    (FacilityKind::HighSchool, "វិទ្យាល័យ", "High School"),
];

/// Khmer family and given names with their usual romanisation.
const FAMILY_NAMES: [(&str, &str); 10] = [
    ("សុខ", "Sok"),
    ("ចាន់", "Chan"),
    ("ហេង", "Heng"),
    ("លី", "Ly"),
    ("គឹម", "Kim"),
    ("ស៊ុន", "Sun"),
    ("ម៉ៅ", "Mao"),
    ("ឈឹម", "Chhim"),
    ("ស", "Sar"),
    ("ពៅ", "Pov"),
];
const GIVEN_NAMES: [(&str, &str); 12] = [
    ("ដារ៉ា", "Dara"),
    ("សុភា", "Sophea"),
    ("វណ្ណា", "Vanna"),
    ("ចន្ធូ", "Chanthou"),
    ("ស្រីនិច", "Sreynich"),
    ("សុវណ្ណ", "Sovann"),
    ("បុប្ផា", "Bopha"),
    ("រតនា", "Rathana"),
    ("សំណាង", "Samnang"),
    ("ពិសិដ្ឋ", "Piseth"),
    ("ចាន់ថា", "Chantha"),
    ("សុធាវី", "Sotheavy"),
];
const GRADES: [&str; 6] = ["A.1", "A.2", "B.1", "B.2", "C.1", "C.2"];

/// Values every record shares, parsed once.
#[derive(Debug)]
struct Fixed {
    communes: Vec<AdminCode>,
    employers: [MinistryCode; 3],
    moh: MinistryCode,
    moeys: MinistryCode,
    birth_epoch: NaiveDate,
}

fn facility(n: usize, fixed: &Fixed) -> Result<Facility> {
    let (kind, km, latin) = FACILITY_KINDS[n % FACILITY_KINDS.len()];
    let commune = &fixed.communes[n % fixed.communes.len()];
    let sector = kind.sector();
    let (ministry, managed_by, system, value) = match sector {
        schema::Sector::Health => (
            Ministry::Moh,
            &fixed.moh,
            "moh:dhis2",
            format!("BENCH{n:06}"),
        ),
        schema::Sector::Education => (
            Ministry::Moeys,
            &fixed.moeys,
            "moeys:school_code",
            format!("{:08}", 10_000_000 + n),
        ),
    };
    // Spread over Phnom Penh, a few kilometres each way.
    let jitter = |k: usize| ((n * k) % 1000) as f64 / 10_000.0;
    Ok(Facility {
        id: facility_id(n),
        sector,
        kind,
        name_km: Name::parse(&format!("{km} {}", khmer_number(n)))?,
        name_latin: Some(Name::parse(&format!("{latin} {n}"))?),
        admin_unit_code: Some(commune.clone()),
        location: Some(GeoPoint::parse(11.50 + jitter(7), 104.85 + jitter(13))?),
        status: FacilityStatus::Open,
        managed_by: ManagedBy::Ministry(managed_by.clone()),
        identifiers: vec![SourceIdentifier {
            system: system.to_owned(),
            value: value.clone(),
        }],
        sources: vec![Provenance {
            ministry,
            source_id: value,
            fetched_at: Utc::now(),
            linked: None,
        }],
    })
}

fn staff(n: usize, fixed: &Fixed) -> Result<Staff> {
    let (family_km, family_latin) = FAMILY_NAMES[n % FAMILY_NAMES.len()];
    let (given_km, given_latin) = GIVEN_NAMES[(n / FAMILY_NAMES.len()) % GIVEN_NAMES.len()];
    let csid = (1_000_000_000 + n).to_string();
    let days = (n * 37 % 15_000) as u64;
    let birth = fixed
        .birth_epoch
        .checked_add_days(chrono::Days::new(days))
        .ok_or("birth date out of range")?;
    Ok(Staff {
        id: staff_id(n),
        civil_servant_id: Some(CivilServantId::parse(&csid)?),
        national_id: Some(NationalId::parse(&format!("{:09}", 100_000_000 + n))?),
        birth_date: Some(Date::from_naive(birth)),
        name_km: Name::parse(&format!("{family_km} {given_km}"))?,
        name_latin: Some(Name::parse(&format!(
            "{} {given_latin}",
            family_latin.to_uppercase()
        ))?),
        sex: Some(if n.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        }),
        employer: Some(fixed.employers[n % fixed.employers.len()].clone()),
        grade: Some(GRADES[n % GRADES.len()].to_owned()),
        status: StaffStatus::Active,
        admin_unit_code: Some(fixed.communes[n % fixed.communes.len()].clone()),
        identifiers: vec![SourceIdentifier {
            system: "mcs:officer_id".to_owned(),
            value: csid.clone(),
        }],
        sources: vec![Provenance {
            ministry: Ministry::Mcs,
            source_id: csid,
            fetched_at: Utc::now(),
            linked: None,
        }],
    })
}

fn assignment(n: usize, facilities: usize, fixed: &Fixed) -> Result<Assignment> {
    let f = (n - 1) % facilities + 1;
    let (kind, _, _) = FACILITY_KINDS[f % FACILITY_KINDS.len()];
    let (role, source) = match kind.sector() {
        schema::Sector::Health => ("nurse", Ministry::Moh),
        schema::Sector::Education => ("teacher", Ministry::Moeys),
    };
    Ok(Assignment {
        id: assignment_id(n),
        staff_id: staff_id(n),
        facility_id: Some(facility_id(f)),
        admin_unit_code: Some(fixed.communes[f % fixed.communes.len()].clone()),
        role: role.to_owned(),
        source,
        start_date: Some(Date::parse(&format!("2015-{:02}-01", n % 12 + 1))?),
        end_date: None,
    })
}

/// Builds records `1..=total` a batch at a time and upserts each batch, timing only
/// the upserts. Returns the summed counts and the time spent upserting.
async fn seed<T, B, U, F>(
    total: usize,
    batch: usize,
    build: B,
    upsert: U,
) -> Result<(UpsertCounts, Duration)>
where
    B: Fn(usize) -> Result<T>,
    U: Fn(Vec<T>) -> F,
    F: Future<Output = std::result::Result<UpsertCounts, store::StoreError>>,
{
    let mut counts = UpsertCounts::default();
    let mut spent = Duration::ZERO;
    let mut start = 1;
    while start <= total {
        let end = (start + batch - 1).min(total);
        let rows = (start..=end).map(&build).collect::<Result<Vec<T>>>()?;
        let t = Instant::now();
        counts += upsert(rows).await?;
        spent += t.elapsed();
        start = end + 1;
    }
    Ok((counts, spent))
}

fn report(what: &str, rows: usize, counts: UpsertCounts, spent: Duration) {
    let secs = spent.as_secs_f64();
    let rate = if secs > 0.0 { rows as f64 / secs } else { 0.0 };
    println!("{what} upsert: {rows} rows in {secs:.2} s = {rate:.0} rows/s");
    eprintln!(
        "  ({} inserted, {} updated, {} unchanged)",
        counts.inserted, counts.updated, counts.unchanged
    );
}

/// Drops `database` (disconnecting its sessions) and creates it empty.
async fn recreate_database(url: &str, database: &str) -> Result<()> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let task = tokio::spawn(connection);
    // The name was checked to be letters, digits and _ only.
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        ))
        .await?;
    drop(client);
    task.await??;
    store::create_database(url, database).await?;
    Ok(())
}

/// Refreshes the planner's statistics and the visibility map after the bulk load.
async fn vacuum_analyze(url: &str, database: &str) -> Result<()> {
    let mut config: tokio_postgres::Config = url.parse()?;
    config.dbname(database);
    let (client, connection) = config.connect(NoTls).await?;
    let task = tokio::spawn(connection);
    client.batch_execute("VACUUM (ANALYZE)").await?;
    drop(client);
    task.await??;
    Ok(())
}

#[tokio::main]
async fn main() {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if message.is_empty() {
                println!("{USAGE}");
                std::process::exit(0);
            }
            eprintln!("bench_seed: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args).await {
        eprintln!("bench_seed: {e}");
        std::process::exit(1);
    }
}

async fn run(args: &Args) -> Result<()> {
    // The id scheme load generators rely on.
    assert_eq!(
        staff_id(1).to_string(),
        "00000000-0000-4000-8000-000000000001"
    );
    assert_eq!(
        facility_id(0xabc).to_string(),
        "00000000-0000-4000-9000-000000000abc"
    );

    eprintln!("recreating database {} ...", args.database);
    recreate_database(&args.url, &args.database).await?;
    let store = Store::connect(&args.url, Some(&args.database), 8)?;
    store.migrate().await?;

    let (units, communes) = gazetteer()?;
    let counts = store.upsert_admin_units(&units).await?;
    eprintln!(
        "admin units: {} inserted ({} communes)",
        counts.inserted,
        communes.len()
    );

    let fixed = Fixed {
        communes,
        employers: [
            MinistryCode::parse("MOH")?,
            MinistryCode::parse("MOEYS")?,
            MinistryCode::parse("MCS")?,
        ],
        moh: MinistryCode::parse("MOH")?,
        moeys: MinistryCode::parse("MOEYS")?,
        birth_epoch: NaiveDate::from_ymd_opt(1960, 1, 1).ok_or("bad epoch")?,
    };

    eprintln!(
        "upserting {} facilities in batches of {} ...",
        args.facilities, args.batch
    );
    let (counts, spent) = seed(
        args.facilities,
        args.batch,
        |n| facility(n, &fixed),
        |rows| {
            let store = store.clone();
            async move { store.upsert_facilities(&rows).await }
        },
    )
    .await?;
    report("facility", args.facilities, counts, spent);

    eprintln!(
        "upserting {} staff in batches of {} ...",
        args.staff, args.batch
    );
    let (counts, spent) = seed(
        args.staff,
        args.batch,
        |n| staff(n, &fixed),
        |rows| {
            let store = store.clone();
            async move { store.upsert_staff(&rows).await }
        },
    )
    .await?;
    report("staff", args.staff, counts, spent);

    if args.assignments {
        eprintln!(
            "upserting {} assignments in batches of {} ...",
            args.staff, args.batch
        );
        let (counts, spent) = seed(
            args.staff,
            args.batch,
            |n| assignment(n, args.facilities, &fixed),
            |rows| {
                let store = store.clone();
                async move { store.upsert_assignments(&rows).await }
            },
        )
        .await?;
        report("assignment", args.staff, counts, spent);
    }

    eprintln!("VACUUM (ANALYZE) ...");
    vacuum_analyze(&args.url, &args.database).await?;
    eprintln!("seeded {}", args.database);
    Ok(())
}
