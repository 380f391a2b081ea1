//! Realistic synthetic notes, deterministic for a seed: several languages, accented names, a
//! stable patient pool, occasional long dictations and content with markup that a careless
//! client would render. Every name and detail here is invented.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

pub const NOTE_TYPES: [&str; 5] = [
    "consultation_summary",
    "referral_letter",
    "prescription",
    "follow_up",
    "discharge_summary",
];

/// How many patients one seed's pool holds; notes draw from it so patients recur.
pub const PATIENT_POOL_SIZE: usize = 24;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    En,
    Fr,
    De,
    Es,
    No,
}

const LANGS: [Lang; 5] = [Lang::En, Lang::Fr, Lang::De, Lang::Es, Lang::No];

/// (first name, last name, usual language)
const NAMES: [(&str, &str, Lang); 24] = [
    ("Bjørn", "Ødegård", Lang::No),
    ("Zoë", "Núñez", Lang::Es),
    ("Jürgen", "Müller", Lang::De),
    ("Hélène", "François", Lang::Fr),
    ("Łukasz", "Wąsowski", Lang::En),
    ("Šárka", "Dvořák", Lang::De),
    ("Siobhán", "O'Connor", Lang::En),
    ("Åsa", "Lindqvist-Bråten", Lang::No),
    ("José María", "García-Peña", Lang::Es),
    ("Chloé", "Lefèvre", Lang::Fr),
    ("Günther", "Weiß", Lang::De),
    ("Ingrid", "Sæther", Lang::No),
    ("Renée", "d'Aubigné", Lang::Fr),
    ("Nuño", "Ibáñez", Lang::Es),
    ("Mary-Jane", "Smith", Lang::En),
    ("Ørjan", "Haugen", Lang::No),
    ("Françoise", "Bézier", Lang::Fr),
    ("Jörg", "Schröder", Lang::De),
    ("Inés", "Muñoz", Lang::Es),
    ("Dafydd", "ap Rhys", Lang::En),
    ("Mei", "Zhāng", Lang::En),
    ("Kåre", "Ås", Lang::No),
    ("Maëlys", "Le Gall", Lang::Fr),
    ("Ángel", "Peñalver Rodríguez", Lang::Es),
];

const MARKUP: [&str; 5] = [
    "<script>alert(1)</script>",
    "<b>bold</b> and <i>italic</i>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">link</a>",
    "{{7*7}} ${7*7} '; DROP TABLE notes; --",
];

struct Phrases {
    complaints: &'static [&'static str],
    medications: &'static [&'static str],
    headings: [&'static str; 4],
    opening: &'static str,
    body: [&'static str; 5],
    dictation: &'static [&'static str],
}

fn phrases(lang: Lang) -> Phrases {
    match lang {
        Lang::En => Phrases {
            complaints: &["persistent dry cough", "lower back pain", "recurrent headaches", "fatigue and poor sleep", "swollen left ankle"],
            medications: &["amoxicillin 500 mg three times daily", "ibuprofen 400 mg as needed", "paracetamol 1 g up to four times daily", "ramipril 5 mg once daily"],
            headings: ["Reason for visit", "Examination", "Assessment", "Plan"],
            opening: "Patient presents with",
            body: [
                "Symptoms started about {days} days ago. Vital signs within normal limits. Lungs clear on auscultation.",
                "Dear colleague, I would be grateful if you could see this patient regarding {complaint}, present for {days} days despite initial treatment.",
                "Prescribed: {med}. Duration {days} days. Patient informed about possible side effects.",
                "Follow-up after {days} days: clear improvement of {complaint}. Treatment continued unchanged.",
                "Admitted for {complaint}, discharged after {days} days in good general condition. GP follow-up in one week.",
            ],
            dictation: &["The patient describes the course of symptoms in detail, noting that they worsen in the evening and improve with rest.", "On examination the abdomen is soft and non-tender, bowel sounds are present, and there is no peripheral oedema.", "We discussed lifestyle measures including regular exercise, reduced salt intake and a gradual return to work.", "Blood tests were ordered: full blood count, CRP, electrolytes, renal function and HbA1c."],
        },
        Lang::Fr => Phrases {
            complaints: &["toux sèche persistante", "lombalgie", "céphalées récurrentes", "fatigue et troubles du sommeil", "œdème de la cheville gauche"],
            medications: &["amoxicilline 500 mg trois fois par jour", "ibuprofène 400 mg si besoin", "paracétamol 1 g jusqu'à quatre fois par jour", "ramipril 5 mg une fois par jour"],
            headings: ["Motif de consultation", "Examen clinique", "Évaluation", "Conduite à tenir"],
            opening: "Le patient se présente pour",
            body: [
                "Début des symptômes il y a environ {days} jours. Constantes normales. Auscultation pulmonaire sans particularité.",
                "Cher confrère, je vous adresse ce patient pour {complaint}, évoluant depuis {days} jours malgré un premier traitement.",
                "Prescription : {med}. Durée {days} jours. Patient informé des effets indésirables possibles.",
                "Contrôle à {days} jours : nette amélioration de {complaint}. Traitement poursuivi à l'identique.",
                "Hospitalisé pour {complaint}, sortie après {days} jours en bon état général. Suivi par le médecin traitant dans une semaine.",
            ],
            dictation: &["Le patient décrit en détail l'évolution des symptômes, qui s'aggravent le soir et s'améliorent au repos.", "À l'examen, l'abdomen est souple et indolore, les bruits hydro-aériques sont présents, pas d'œdème des membres inférieurs.", "Nous avons abordé les mesures hygiéno-diététiques : activité physique régulière, réduction du sel, reprise progressive du travail.", "Bilan biologique prescrit : NFS, CRP, ionogramme, fonction rénale et HbA1c."],
        },
        Lang::De => Phrases {
            complaints: &["anhaltender Reizhusten", "Rückenschmerzen", "wiederkehrende Kopfschmerzen", "Müdigkeit und Schlafstörungen", "Schwellung des linken Sprunggelenks"],
            medications: &["Amoxicillin 500 mg dreimal täglich", "Ibuprofen 400 mg bei Bedarf", "Paracetamol 1 g bis zu viermal täglich", "Ramipril 5 mg einmal täglich"],
            headings: ["Anlass", "Befund", "Beurteilung", "Procedere"],
            opening: "Der Patient stellt sich vor wegen",
            body: [
                "Beschwerden seit etwa {days} Tagen. Vitalparameter unauffällig. Lunge auskultatorisch frei.",
                "Sehr geehrte Kollegin, sehr geehrter Kollege, ich überweise Ihnen den Patienten wegen {complaint}, seit {days} Tagen trotz Erstbehandlung.",
                "Verordnung: {med}. Dauer {days} Tage. Über mögliche Nebenwirkungen aufgeklärt.",
                "Kontrolle nach {days} Tagen: deutliche Besserung von {complaint}. Therapie unverändert fortgeführt.",
                "Stationäre Aufnahme wegen {complaint}, Entlassung nach {days} Tagen in gutem Allgemeinzustand. Hausärztliche Kontrolle in einer Woche.",
            ],
            dictation: &["Der Patient schildert den Verlauf ausführlich; die Beschwerden nehmen abends zu und bessern sich in Ruhe.", "Bei der Untersuchung ist das Abdomen weich, kein Druckschmerz, Darmgeräusche regelrecht, keine peripheren Ödeme.", "Wir besprachen Allgemeinmaßnahmen: regelmäßige Bewegung, Salzreduktion und eine stufenweise Wiedereingliederung.", "Laborkontrolle veranlasst: Blutbild, CRP, Elektrolyte, Nierenwerte und HbA1c."],
        },
        Lang::Es => Phrases {
            complaints: &["tos seca persistente", "lumbalgia", "cefaleas recurrentes", "cansancio e insomnio", "tumefacción del tobillo izquierdo"],
            medications: &["amoxicilina 500 mg tres veces al día", "ibuprofeno 400 mg si precisa", "paracetamol 1 g hasta cuatro veces al día", "ramipril 5 mg una vez al día"],
            headings: ["Motivo de consulta", "Exploración", "Valoración", "Plan"],
            opening: "El paciente acude por",
            body: [
                "Síntomas desde hace unos {days} días. Constantes dentro de la normalidad. Auscultación pulmonar sin hallazgos.",
                "Estimado colega: le remito a este paciente por {complaint}, de {days} días de evolución pese al tratamiento inicial.",
                "Se prescribe: {med}. Duración {days} días. Se informa de los posibles efectos adversos.",
                "Revisión a los {days} días: clara mejoría de {complaint}. Se mantiene el tratamiento.",
                "Ingreso por {complaint}; alta tras {days} días en buen estado general. Control por su médico de cabecera en una semana.",
            ],
            dictation: &["El paciente describe con detalle la evolución de los síntomas, que empeoran por la tarde y mejoran con el reposo.", "A la exploración, abdomen blando y depresible, no doloroso, ruidos intestinales presentes, sin edemas periféricos.", "Se comentan medidas higiénico-dietéticas: ejercicio regular, reducción de sal y reincorporación laboral progresiva.", "Se solicita analítica: hemograma, PCR, iones, función renal y HbA1c."],
        },
        Lang::No => Phrases {
            complaints: &["vedvarende tørrhoste", "korsryggsmerter", "tilbakevendende hodepine", "tretthet og søvnvansker", "hevelse i venstre ankel"],
            medications: &["amoksicillin 500 mg tre ganger daglig", "ibuprofen 400 mg ved behov", "paracetamol 1 g inntil fire ganger daglig", "ramipril 5 mg én gang daglig"],
            headings: ["Årsak til konsultasjon", "Undersøkelse", "Vurdering", "Plan"],
            opening: "Pasienten kommer på grunn av",
            body: [
                "Symptomene startet for omtrent {days} dager siden. Vitale tegn normale. Lungene auskulteres uten funn.",
                "Kjære kollega, jeg henviser denne pasienten for {complaint}, som har vart i {days} dager til tross for behandling.",
                "Forskrevet: {med}. Varighet {days} dager. Pasienten er informert om mulige bivirkninger.",
                "Kontroll etter {days} dager: klar bedring av {complaint}. Behandlingen fortsetter uendret.",
                "Innlagt for {complaint}, utskrevet etter {days} dager i god allmenntilstand. Kontroll hos fastlege om én uke.",
            ],
            dictation: &["Pasienten beskriver forløpet grundig; plagene øker om kvelden og blir bedre ved hvile.", "Ved undersøkelse er abdomen bløt og uøm, tarmlyder til stede, ingen perifere ødemer.", "Vi diskuterte livsstilstiltak: regelmessig fysisk aktivitet, mindre salt og gradvis tilbakekomst til arbeid.", "Blodprøver rekvirert: hematologi, CRP, elektrolytter, nyrefunksjon og HbA1c."],
        },
    }
}

fn mix(seed: u64, index: u64) -> u64 {
    // splitmix64 over both inputs, so neighbouring indices give unrelated streams.
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn uuid_from(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

struct PoolPatient {
    json: Value,
    lang: Lang,
}

fn pool(seed: u64) -> Vec<PoolPatient> {
    let mut rng = StdRng::seed_from_u64(mix(seed, u64::MAX));
    NAMES
        .iter()
        .take(PATIENT_POOL_SIZE)
        .map(|&(first, last, lang)| {
            let mut p = Map::new();
            p.insert("uuid".into(), json!(uuid_from(&mut rng)));
            p.insert("firstName".into(), json!(first));
            p.insert("lastName".into(), json!(last));
            // About half the practices have linked their own patient ids.
            if rng.random_bool(0.5) {
                p.insert(
                    "externalId".into(),
                    json!(format!("PAT-{:06}", rng.random_range(1..1_000_000))),
                );
            }
            let year = rng.random_range(1930..2020);
            let month = rng.random_range(1..=12);
            let day = rng.random_range(1..=28);
            p.insert(
                "dateOfBirth".into(),
                json!(format!("{year:04}-{month:02}-{day:02}")),
            );
            p.insert(
                "gender".into(),
                json!(*pick(&mut rng, &["female", "male", "other"])),
            );
            PoolPatient {
                json: Value::Object(p),
                lang,
            }
        })
        .collect()
}

/// The seed's patient pool, as embedded in its notes.
pub fn patient_pool(seed: u64) -> Vec<Value> {
    pool(seed).into_iter().map(|p| p.json).collect()
}

fn fill(template: &str, complaint: &str, med: &str, days: u32) -> String {
    template
        .replace("{complaint}", complaint)
        .replace("{med}", med)
        .replace("{days}", &days.to_string())
}

fn content(rng: &mut StdRng, lang: Lang, type_index: usize, markdown: bool) -> String {
    let ph = phrases(lang);
    let complaint = *pick(rng, ph.complaints);
    let med = *pick(rng, ph.medications);
    let days: u32 = rng.random_range(2..21);
    let body = fill(ph.body[type_index], complaint, med, days);
    let extra = *pick(rng, ph.dictation);
    if markdown {
        format!(
            "## {}\n{} {complaint}.\n\n## {}\n{body}\n\n## {}\n- {extra}\n\n## {}\n- **{med}**\n- {}",
            ph.headings[0],
            ph.opening,
            ph.headings[1],
            ph.headings[2],
            ph.headings[3],
            fill(ph.body[3], complaint, med, days + 7),
        )
    } else {
        format!("{} {complaint}. {body} {extra}", ph.opening)
    }
}

/// A long dictation of 20 to 60 KB, as when a clinician dictates a whole consultation.
fn long_dictation(rng: &mut StdRng, lang: Lang, start: String) -> String {
    let ph = phrases(lang);
    let target = rng.random_range(20_000..60_000);
    let mut out = start;
    let mut paragraph = 1;
    while out.len() < target {
        out.push_str(&format!("\n\n{paragraph}. "));
        for _ in 0..4 {
            let sentence: &&str = pick(rng, ph.dictation);
            out.push_str(sentence);
            out.push(' ');
        }
        paragraph += 1;
    }
    out
}

pub(crate) fn timestamp(t: DateTime<Utc>, use_z: bool) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, use_z)
}

/// Note number `index` of `seed`'s stream, created at `created_at`. The same inputs always
/// give the same note, except that a revision is never dated after the present.
pub fn generate_note(seed: u64, index: u64, created_at: DateTime<Utc>) -> Value {
    let patients = pool(seed);
    generate_with_pool(&patients, seed, index, created_at)
}

fn generate_with_pool(
    patients: &[PoolPatient],
    seed: u64,
    index: u64,
    created_at: DateTime<Utc>,
) -> Value {
    let mut rng = StdRng::seed_from_u64(mix(seed, index));
    let uuid = uuid_from(&mut rng);
    let type_index = rng.random_range(0..NOTE_TYPES.len());
    let patient = pick(&mut rng, patients);
    let roll: f64 = rng.random();
    let patient_json = if roll < 0.07 {
        Value::Null
    } else if roll < 0.10 {
        // Partial patient objects happen when Askara only knows part of the record.
        json!({
            "uuid": patient.json.get("uuid").cloned().unwrap_or(Value::Null),
            "lastName": patient.json.get("lastName").cloned().unwrap_or(Value::Null),
        })
    } else {
        patient.json.clone()
    };
    let lang = if rng.random_bool(0.8) {
        patient.lang
    } else {
        *pick(&mut rng, &LANGS)
    };
    let markdown = rng.random_bool(0.25);
    let mut text = content(&mut rng, lang, type_index, markdown);
    if rng.random_bool(0.08) {
        let snippet = *pick(&mut rng, &MARKUP);
        text = format!("{text}\n{snippet}");
    }
    if rng.random_bool(0.03) {
        text = long_dictation(&mut rng, lang, text);
    }
    let use_z = rng.random_bool(0.15);
    let revised = rng.random_bool(0.12);
    let revision_delay = Duration::seconds(rng.random_range(60..7200));
    let updated_at = if revised {
        (created_at + revision_delay).min(Utc::now().max(created_at))
    } else {
        created_at
    };
    json!({
        "uuid": uuid,
        "type": NOTE_TYPES[type_index],
        "content": text,
        "createdAt": timestamp(created_at, use_z),
        "updatedAt": timestamp(updated_at, use_z),
        "patient": patient_json,
    })
}

/// `n` notes from `seed`'s stream starting at `first_index`, created in order over the past
/// days and ending at `now`, about a third sharing their second with the previous note.
pub fn generate_spread(seed: u64, first_index: u64, n: usize, now: DateTime<Utc>) -> Vec<Value> {
    let patients = pool(seed);
    let mut rng = StdRng::seed_from_u64(mix(seed ^ 0x5EED, first_index));
    let now = now - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()));
    let span_secs: i64 = 3 * 24 * 3600;
    let gaps: Vec<u64> = (0..n)
        .map(|i| {
            if i == 0 || rng.random_bool(0.35) {
                0
            } else {
                rng.random_range(1..1000)
            }
        })
        .collect();
    let total: u64 = gaps.iter().sum();
    let mut acc = 0u64;
    gaps.iter()
        .enumerate()
        .map(|(i, gap)| {
            acc += gap;
            let back = if total == 0 {
                0
            } else {
                i128::from(total - acc) * i128::from(span_secs) / i128::from(total)
            };
            let created = now - Duration::seconds(i64::try_from(back).unwrap_or(0));
            generate_with_pool(&patients, seed, first_index + i as u64, created)
        })
        .collect()
}

/// `n` notes from `seed`'s stream, all created at exactly `created_at`.
pub fn generate_at(seed: u64, first_index: u64, n: usize, created_at: DateTime<Utc>) -> Vec<Value> {
    let patients = pool(seed);
    (0..n)
        .map(|i| generate_with_pool(&patients, seed, first_index + i as u64, created_at))
        .collect()
}
