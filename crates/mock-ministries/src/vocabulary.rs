//! The words ministries use: employers, positions, grades, facility and school kinds.

/// A ministry that employs civil servants, as the roll codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Employer {
    Moh,
    Moeys,
    Moi,
    Mef,
    Maff,
    Mcs,
    Moj,
    Mpwt,
    Mrd,
}

impl Employer {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Moh => "MOH",
            Self::Moeys => "MOEYS",
            Self::Moi => "MOI",
            Self::Mef => "MEF",
            Self::Maff => "MAFF",
            Self::Mcs => "MCS",
            Self::Moj => "MOJ",
            Self::Mpwt => "MPWT",
            Self::Mrd => "MRD",
        }
    }

    /// The Khmer name of the ministry's provincial department (or administration),
    /// to be followed by the province.
    pub(crate) fn department_km(self) -> &'static str {
        match self {
            Self::Moh => "មន្ទីរសុខាភិបាល",
            Self::Moeys => "មន្ទីរអប់រំ យុវជន និងកីឡា",
            Self::Moi => "រដ្ឋបាល",
            Self::Mef => "មន្ទីរសេដ្ឋកិច្ច និងហិរញ្ញវត្ថុ",
            Self::Maff => "មន្ទីរកសិកម្ម រុក្ខាប្រមាញ់ និងនេសាទ",
            Self::Mcs => "មន្ទីរមុខងារសាធារណៈ",
            Self::Moj => "មន្ទីរយុត្តិធម៌",
            Self::Mpwt => "មន្ទីរសាធារណការ និងដឹកជញ្ជូន",
            Self::Mrd => "មន្ទីរអភិវឌ្ឍន៍ជនបទ",
        }
    }
}

/// Employers of the civil servants who work in offices, with their weights.
pub(crate) const OFFICE_EMPLOYERS: &[(Employer, u32)] = &[
    (Employer::Moi, 25),
    (Employer::Mef, 10),
    (Employer::Maff, 15),
    (Employer::Moh, 8),
    (Employer::Moeys, 15),
    (Employer::Mcs, 3),
    (Employer::Moj, 6),
    (Employer::Mpwt, 8),
    (Employer::Mrd, 10),
];

/// A health worker's role: Khmer title (roll), FHIR code and display, weight,
/// grade category (0 = A, 1 = B, 2 = C).
pub(crate) struct HealthRole {
    pub km: &'static str,
    pub code: &'static str,
    pub display: &'static str,
    pub weight: u32,
    pub category: u8,
}

pub(crate) const HEALTH_ROLE_SYSTEM: &str = "https://moh.gov.kh/fhir/CodeSystem/health-worker-role";

pub(crate) const HEALTH_ROLES: &[HealthRole] = &[
    HealthRole {
        km: "វេជ្ជបណ្ឌិត",
        code: "doctor",
        display: "Medical doctor",
        weight: 10,
        category: 0,
    },
    HealthRole {
        km: "គ្រូពេទ្យមធ្យម",
        code: "medical-assistant",
        display: "Medical assistant",
        weight: 12,
        category: 1,
    },
    HealthRole {
        km: "គិលានុបដ្ឋាក",
        code: "nurse",
        display: "Nurse",
        weight: 35,
        category: 1,
    },
    HealthRole {
        km: "ឆ្មប",
        code: "midwife",
        display: "Midwife",
        weight: 25,
        category: 1,
    },
    HealthRole {
        km: "ឱសថការី",
        code: "pharmacist",
        display: "Pharmacist",
        weight: 5,
        category: 0,
    },
    HealthRole {
        km: "អ្នកបច្ចេកទេសមន្ទីរពិសោធន៍",
        code: "lab-technician",
        display: "Laboratory technician",
        weight: 5,
        category: 1,
    },
    HealthRole {
        km: "ទន្តបណ្ឌិត",
        code: "dentist",
        display: "Dentist",
        weight: 2,
        category: 0,
    },
    HealthRole {
        km: "មន្ត្រីរដ្ឋបាល",
        code: "administrator",
        display: "Administrative officer",
        weight: 6,
        category: 2,
    },
];

/// Teachers' positions, Khmer, with weights.
pub(crate) const TEACHER_POSITIONS: &[(&str, u32)] =
    &[("គ្រូបង្រៀន", 84), ("នាយកសាលា", 8), ("នាយករងសាលា", 8)];

/// Office positions, Khmer, with weights.
pub(crate) const OFFICE_POSITIONS: &[(&str, u32)] = &[
    ("មន្ត្រី", 40),
    ("មន្ត្រីរដ្ឋបាល", 20),
    ("មន្ត្រីបច្ចេកទេស", 20),
    ("អនុប្រធានការិយាល័យ", 8),
    ("ប្រធានការិយាល័យ", 6),
    ("អនុប្រធានមន្ទីរ", 4),
    ("ប្រធានមន្ទីរ", 2),
];

/// Grades: category A/B/C, rank 1-3, step 1-4 (`B.2.3`): 12 per category.
pub(crate) const GRADES_PER_CATEGORY: u8 = 12;

pub(crate) fn grade(index: u8) -> String {
    let category = ["A", "B", "C"][usize::from(index / GRADES_PER_CATEGORY).min(2)];
    let within = index % GRADES_PER_CATEGORY;
    format!("{category}.{}.{}", within / 4 + 1, within % 4 + 1)
}

/// The next grade in the same category (a promotion; wraps around).
pub(crate) fn next_grade(index: u8) -> u8 {
    let category = index / GRADES_PER_CATEGORY;
    category * GRADES_PER_CATEGORY + (index % GRADES_PER_CATEGORY + 1) % GRADES_PER_CATEGORY
}

/// The kind of a health facility, which DHIS2 writes as an organisation unit group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthKind {
    ReferralHospital,
    HealthCentre,
    HealthPost,
}

impl HealthKind {
    pub(crate) fn group(self) -> &'static str {
        match self {
            Self::ReferralHospital => "RH",
            Self::HealthCentre => "HC",
            Self::HealthPost => "HP",
        }
    }

    pub(crate) fn name_km(self) -> &'static str {
        match self {
            Self::ReferralHospital => "មន្ទីរពេទ្យបង្អែក",
            Self::HealthCentre => "មណ្ឌលសុខភាព",
            Self::HealthPost => "ប៉ុស្តិ៍សុខភាព",
        }
    }

    /// Staff weight: how many health workers a facility of this kind has, relatively.
    pub(crate) fn staff_weight(self) -> u32 {
        match self {
            Self::ReferralHospital => 12,
            Self::HealthCentre => 4,
            Self::HealthPost => 1,
        }
    }
}

/// A school's level as EMIS writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SchoolLevel {
    Preschool,
    Primary,
    LowerSecondary,
    UpperSecondary,
}

impl SchoolLevel {
    pub(crate) const ALL: [Self; 4] = [
        Self::Preschool,
        Self::Primary,
        Self::LowerSecondary,
        Self::UpperSecondary,
    ];

    /// The value of the `school_level` column.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Preschool => "preschool",
            Self::Primary => "primary",
            Self::LowerSecondary => "lower_secondary",
            Self::UpperSecondary => "upper_secondary",
        }
    }

    pub(crate) fn name_km(self) -> &'static str {
        match self {
            Self::Preschool => "សាលាមត្តេយ្យ",
            Self::Primary => "សាលាបឋមសិក្សា",
            Self::LowerSecondary => "អនុវិទ្យាល័យ",
            Self::UpperSecondary => "វិទ្យាល័យ",
        }
    }

    pub(crate) fn name_en(self) -> &'static str {
        match self {
            Self::Preschool => "Preschool",
            Self::Primary => "Primary School",
            Self::LowerSecondary => "Lower Secondary School",
            Self::UpperSecondary => "Upper Secondary School",
        }
    }

    /// Share of schools at this level, per thousand.
    pub(crate) fn share(self) -> u32 {
        match self {
            Self::Preschool => 200,
            Self::Primary => 550,
            Self::LowerSecondary => 150,
            Self::UpperSecondary => 100,
        }
    }

    /// Teacher weight: how many teachers a school of this level has, relatively.
    pub(crate) fn staff_weight(self) -> u32 {
        match self {
            Self::Preschool => 1,
            Self::Primary => 3,
            Self::LowerSecondary => 4,
            Self::UpperSecondary => 6,
        }
    }
}

/// Respells a Latin place name the way another romanisation would (`Phnum` ->
/// `Phnom`); a mutation toggles between the two spellings.
pub(crate) fn respell(name: &str) -> String {
    const RULES: &[(&str, &str)] = &[
        ("Phnum", "Phnom"),
        ("Kampong", "Kompong"),
        ("Srok", "Srock"),
        ("ey", "ei"),
        ("ou", "u"),
        ("ea", "ia"),
        ("oa", "oe"),
        ("o", "au"),
        ("a", "ah"),
    ];
    for (from, to) in RULES {
        if name.contains(from) {
            return name.replacen(from, to, 1);
        }
    }
    format!("{name}h")
}
