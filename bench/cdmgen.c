/* omcp-cdmgen: writes a synthetic OMOP CDM 5.4 into SQLite. The same seed and
 * person count give the same database, byte for byte. */
#include "bench/cdmdb.h"

#include "proxy/mem.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GEN_END_DAY     20088 /* 2024-12-31: the data's "today", fixed so runs agree */
#define GEN_START_DAY   10957 /* 2000-01-01: the earliest observation */
#define GEN_MAX_VISITS  120
#define GEN_MAX_EVENTS  1024
#define GEN_ERA_GAP     30    /* persistence window joining events into eras */
#define GEN_TYPE_EHR    32817 /* type concept: EHR */
#define GEN_PERIOD_TYPE 44814724

/* A concept the generator uses, with the vocabulary row it writes. */
struct gen_concept {
    int id;
    const char *name;
    const char *domain;
    const char *vocabulary;
    const char *concept_class;
    const char *code;
};

/* A long-term condition: how common it is by age and what treats it. */
struct gen_chronic {
    int concept;
    int from_age;    /* prevalence is zero before this age */
    int per_percent; /* years of age per percentage point above from_age */
    int max_percent;
    int drugs[4]; /* treatments, one chosen per person; 0 ends the list */
};

/* A short illness seen at a visit, weighted by age band. */
struct gen_acute {
    int concept;
    int weight_child; /* under 18 */
    int weight_adult;
    int drugs[3];
};

/* An event awaiting era building: a condition or a drug exposure. */
struct gen_event {
    int concept;
    int start;
    int end;
};

struct gen_visit {
    long long id;
    int concept;
    int start;
    int end;
};

/* The person being generated: demographics and what happened to them. */
struct gen_person {
    long long id;
    uint64_t rng;
    int gender;
    int year_of_birth;
    int birth_day;
    int periods[2][2]; /* [start, end] day numbers */
    int nperiods;
    bool died;
    int chronic_mask; /* bit i: has gen_chronic_list[i] */
    struct gen_visit visits[GEN_MAX_VISITS];
    int nvisits;
    struct gen_event conditions[GEN_MAX_EVENTS];
    int nconditions;
    struct gen_event drugs[GEN_MAX_EVENTS];
    int ndrugs;
};

enum gen_table {
    GEN_PERSON,
    GEN_OBSERVATION_PERIOD,
    GEN_DEATH,
    GEN_VISIT,
    GEN_CONDITION,
    GEN_DRUG,
    GEN_MEASUREMENT,
    GEN_OBSERVATION,
    GEN_PROCEDURE,
    GEN_CONDITION_ERA,
    GEN_DRUG_ERA,
    GEN_NTABLES,
};

static const char *const gen_insert_sql[GEN_NTABLES] = {
    [GEN_PERSON] = "INSERT INTO person (person_id, gender_concept_id, year_of_birth, "
                   "month_of_birth, day_of_birth, race_concept_id, ethnicity_concept_id, "
                   "person_source_value, gender_source_value) VALUES (?,?,?,?,?,?,?,?,?)",
    [GEN_OBSERVATION_PERIOD] = "INSERT INTO observation_period VALUES (?,?,?,?,?)",
    [GEN_DEATH] = "INSERT INTO death (person_id, death_date, death_type_concept_id, "
                  "cause_concept_id) VALUES (?,?,?,?)",
    [GEN_VISIT] = "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, "
                  "visit_concept_id, visit_start_date, visit_end_date, visit_type_concept_id) "
                  "VALUES (?,?,?,?,?,?)",
    [GEN_CONDITION] = "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, "
                      "condition_concept_id, condition_start_date, condition_end_date, "
                      "condition_type_concept_id, visit_occurrence_id) VALUES (?,?,?,?,?,?,?)",
    [GEN_DRUG] = "INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id, "
                 "drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id, "
                 "days_supply, quantity, visit_occurrence_id) VALUES (?,?,?,?,?,?,?,?,?)",
    [GEN_MEASUREMENT] = "INSERT INTO measurement (measurement_id, person_id, "
                        "measurement_concept_id, measurement_date, measurement_type_concept_id, "
                        "value_as_number, unit_concept_id, visit_occurrence_id) "
                        "VALUES (?,?,?,?,?,?,?,?)",
    [GEN_OBSERVATION] = "INSERT INTO observation (observation_id, person_id, "
                        "observation_concept_id, observation_date, observation_type_concept_id, "
                        "value_as_string, visit_occurrence_id) VALUES (?,?,?,?,?,?,?)",
    [GEN_PROCEDURE] = "INSERT INTO procedure_occurrence (procedure_occurrence_id, person_id, "
                      "procedure_concept_id, procedure_date, procedure_type_concept_id, "
                      "visit_occurrence_id) VALUES (?,?,?,?,?,?)",
    [GEN_CONDITION_ERA] = "INSERT INTO condition_era VALUES (?,?,?,?,?,?)",
    [GEN_DRUG_ERA] = "INSERT INTO drug_era VALUES (?,?,?,?,?,?,?)",
};

static const char *const gen_table_name[GEN_NTABLES] = {
    "person",
    "observation_period",
    "death",
    "visit_occurrence",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "observation",
    "procedure_occurrence",
    "condition_era",
    "drug_era",
};

struct gen {
    sqlite3 *db;
    uint64_t seed;
    long long persons;
    sqlite3_stmt *insert[GEN_NTABLES];
    long long rows[GEN_NTABLES]; /* also the last id given in each table */
};

/* The vocabulary written into concept: real OMOP concept ids and names. */
static const struct gen_concept gen_concepts[] = {
    {8507, "MALE", "Gender", "Gender", "Gender", "M"},
    {8532, "FEMALE", "Gender", "Gender", "Gender", "F"},
    {8527, "White", "Race", "Race", "Race", "5"},
    {8516, "Black or African American", "Race", "Race", "Race", "3"},
    {8515, "Asian", "Race", "Race", "Race", "2"},
    {38003563, "Hispanic or Latino", "Ethnicity", "Ethnicity", "Ethnicity", "Hispanic"},
    {38003564, "Not Hispanic or Latino", "Ethnicity", "Ethnicity", "Ethnicity", "Not Hispanic"},
    {9201, "Inpatient Visit", "Visit", "Visit", "Visit", "IP"},
    {9202, "Outpatient Visit", "Visit", "Visit", "Visit", "OP"},
    {9203, "Emergency Room Visit", "Visit", "Visit", "Visit", "ER"},
    {756265, "OMOP CDM Version 5.4.0", "Metadata", "CDM", "CDM", "CDM v5.4.0"},
    {GEN_TYPE_EHR, "EHR", "Type Concept", "Type Concept", "Type Concept", "OMOP4976890"},
    {GEN_PERIOD_TYPE, "Period covering healthcare encounters", "Type Concept", "Type Concept",
     "Type Concept", "OMOP4822295"},
    {134057, "Disorder of cardiovascular system", "Condition", "SNOMED", "Clinical Finding",
     "49601007"},
    {320128, "Essential hypertension", "Condition", "SNOMED", "Clinical Finding", "59621000"},
    {317576, "Coronary arteriosclerosis", "Condition", "SNOMED", "Clinical Finding", "53741008"},
    {313217, "Atrial fibrillation", "Condition", "SNOMED", "Clinical Finding", "49436004"},
    {4329847, "Myocardial infarction", "Condition", "SNOMED", "Clinical Finding", "22298006"},
    {201820, "Diabetes mellitus", "Condition", "SNOMED", "Clinical Finding", "73211009"},
    {201826, "Type 2 diabetes mellitus", "Condition", "SNOMED", "Clinical Finding", "44054006"},
    {432867, "Hyperlipidemia", "Condition", "SNOMED", "Clinical Finding", "55822004"},
    {317009, "Asthma", "Condition", "SNOMED", "Clinical Finding", "195967001"},
    {80180, "Osteoarthritis", "Condition", "SNOMED", "Clinical Finding", "396275006"},
    {4027663, "Peptic ulcer", "Condition", "SNOMED", "Clinical Finding", "13200003"},
    {192671, "Gastrointestinal hemorrhage", "Condition", "SNOMED", "Clinical Finding", "74474003"},
    {4283893, "Sinusitis", "Condition", "SNOMED", "Clinical Finding", "36971009"},
    {40481087, "Viral sinusitis", "Condition", "SNOMED", "Clinical Finding", "444814009"},
    {257012, "Chronic sinusitis", "Condition", "SNOMED", "Clinical Finding", "40055000"},
    {4112343, "Acute viral pharyngitis", "Condition", "SNOMED", "Clinical Finding", "195662009"},
    {260139, "Acute bronchitis", "Condition", "SNOMED", "Clinical Finding", "10509002"},
    {372328, "Otitis media", "Condition", "SNOMED", "Clinical Finding", "65363002"},
    {28060, "Streptococcal sore throat", "Condition", "SNOMED", "Clinical Finding", "43878008"},
    {81151, "Sprain of ankle", "Condition", "SNOMED", "Clinical Finding", "44465007"},
    {4116491, "Escherichia coli urinary tract infection", "Condition", "SNOMED", "Clinical Finding",
     "301011002"},
    {1308216, "lisinopril", "Drug", "RxNorm", "Ingredient", "29046"},
    {1332418, "Amlodipine", "Drug", "RxNorm", "Ingredient", "17767"},
    {974166, "Hydrochlorothiazide", "Drug", "RxNorm", "Ingredient", "5487"},
    {1503297, "Metformin", "Drug", "RxNorm", "Ingredient", "6809"},
    {1545958, "atorvastatin", "Drug", "RxNorm", "Ingredient", "83367"},
    {1539403, "Simvastatin", "Drug", "RxNorm", "Ingredient", "36567"},
    {1154343, "Albuterol", "Drug", "RxNorm", "Ingredient", "435"},
    {1118084, "celecoxib", "Drug", "RxNorm", "Ingredient", "140587"},
    {1115008, "Naproxen", "Drug", "RxNorm", "Ingredient", "7258"},
    {1124300, "Diclofenac", "Drug", "RxNorm", "Ingredient", "3355"},
    {1177480, "Ibuprofen", "Drug", "RxNorm", "Ingredient", "5640"},
    {1112807, "Aspirin", "Drug", "RxNorm", "Ingredient", "1191"},
    {1322184, "clopidogrel", "Drug", "RxNorm", "Ingredient", "32968"},
    {1310149, "Warfarin", "Drug", "RxNorm", "Ingredient", "11289"},
    {1125315, "Acetaminophen", "Drug", "RxNorm", "Ingredient", "161"},
    {1713332, "Amoxicillin", "Drug", "RxNorm", "Ingredient", "723"},
    {1729720, "Penicillin V", "Drug", "RxNorm", "Ingredient", "7984"},
    {920293, "Nitrofurantoin", "Drug", "RxNorm", "Ingredient", "7454"},
    {3004249, "Systolic blood pressure", "Measurement", "LOINC", "Clinical Observation", "8480-6"},
    {3012888, "Diastolic blood pressure", "Measurement", "LOINC", "Clinical Observation", "8462-4"},
    {3025315, "Body weight", "Measurement", "LOINC", "Clinical Observation", "29463-7"},
    {3036277, "Body height", "Measurement", "LOINC", "Clinical Observation", "8302-2"},
    {3038553, "Body mass index (BMI) [Ratio]", "Measurement", "LOINC", "Clinical Observation",
     "39156-5"},
    {3027018, "Heart rate", "Measurement", "LOINC", "Clinical Observation", "8867-4"},
    {3004410, "Hemoglobin A1c/Hemoglobin.total in Blood", "Measurement", "LOINC", "Lab Test",
     "4548-4"},
    {3027114, "Cholesterol [Mass/volume] in Serum or Plasma", "Measurement", "LOINC", "Lab Test",
     "2093-3"},
    {8876, "millimeter mercury column", "Unit", "UCUM", "Unit", "mm[Hg]"},
    {9529, "kilogram", "Unit", "UCUM", "Unit", "kg"},
    {8582, "centimeter", "Unit", "UCUM", "Unit", "cm"},
    {9531, "kilogram per square meter", "Unit", "UCUM", "Unit", "kg/m2"},
    {8541, "per minute", "Unit", "UCUM", "Unit", "/min"},
    {8554, "percent", "Unit", "UCUM", "Unit", "%"},
    {8840, "milligram per deciliter", "Unit", "UCUM", "Unit", "mg/dL"},
    {43054909, "Tobacco smoking status", "Observation", "LOINC", "Clinical Observation", "72166-2"},
    {42869557, "Housing status", "Observation", "LOINC", "Survey", "71802-3"},
    {4326177, "Medication Reconciliation", "Procedure", "SNOMED", "Procedure", "430193006"},
    {46272459, "Assessment of health and social care needs", "Procedure", "SNOMED", "Procedure",
     "710824005"},
    {4295880, "Intramuscular injection", "Procedure", "SNOMED", "Procedure", "76601001"},
    {762506, "Assessment of substance use", "Procedure", "SNOMED", "Procedure", "428211000124100"},
};

/* Ancestor, descendant and the levels between them; concept_ancestor also
 * gets every concept as its own ancestor at level 0. */
static const int gen_hierarchy[][3] = {
    {134057, 320128, 2}, {134057, 317576, 3},    {134057, 313217, 3},  {134057, 4329847, 3},
    {201820, 201826, 1}, {4283893, 40481087, 1}, {4283893, 257012, 1},
};

static const struct gen_chronic gen_chronic_list[] = {
    {320128, 25, 1, 45, {1308216, 1308216, 1332418, 974166}},
    {432867, 30, 2, 30, {1545958, 1545958, 1539403, 0}},
    {201826, 30, 3, 20, {1503297, 0}},
    {80180, 40, 2, 30, {1118084, 1115008, 1124300, 1177480}},
    {317009, 0, 0, 7, {1154343, 0}},
    {317576, 45, 5, 12, {1112807, 1322184, 0}},
    {313217, 55, 3, 10, {1310149, 0}},
    {257012, 15, 0, 3, {0}},
    {4027663, 20, 0, 2, {0}},
};

static const struct gen_acute gen_acute_list[] = {
    {40481087, 20, 30, {1125315, 0}},      {4112343, 30, 15, {1125315, 0}},
    {260139, 10, 15, {1125315, 0}},        {372328, 40, 3, {1713332, 0}},
    {28060, 12, 6, {1729720, 1713332, 0}}, {81151, 6, 6, {1177480, 1115008, 0}},
    {4116491, 2, 5, {920293, 0}},          {192671, 0, 1, {0}},
    {4329847, 0, 1, {1112807, 0}},
};

static const int gen_procedures[] = {4326177, 46272459, 4295880, 762506};

/* splitmix64: small, fast, and fully defined by its 64-bit state, so each
 * person's stream depends only on the seed and the person id. */
static uint64_t gen_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A number in [0, n), n > 0. */
static int gen_below(uint64_t *state, int n)
{
    return (int)(((gen_next(state) >> 32) * (uint64_t)n) >> 32);
}

static bool gen_chance(uint64_t *state, int percent)
{
    return gen_below(state, 100) < percent;
}

/* Roughly normal (sum of four uniforms), in integer arithmetic only so every
 * machine draws the same values. Returns tenths: mean and sd are in tenths. */
static int gen_normal(uint64_t *state, int mean, int sd)
{
    int sum = 0;

    for (int i = 0; i < 4; i++)
        sum += gen_below(state, 10000);
    /* Four uniforms on [0, 10000) have sd 5774; scale to sd. */
    return mean + (int)((long long)(sum - 19998) * sd / 5774);
}

/* Days since 1970-01-01 to YYYY-MM-DD, proleptic Gregorian. */
static void gen_date(int day, char out[16])
{
    int z = day + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp < 10 ? mp + 3 : mp - 9;
    int y = yoe + era * 400 + (m <= 2);

    snprintf(out, 16, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
             (unsigned)d % 100u);
}

static int gen_day_of(int y, int m, int d)
{
    int yy = y - (m <= 2);
    int era = (yy >= 0 ? yy : yy - 399) / 400;
    int yoe = yy - era * 400;
    int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

static int gen_year_of(int day)
{
    char date[16];

    gen_date(day, date);
    return atoi(date);
}

/* Binds values to an insert and runs it: 'i' int, 'I' long long, 'v' long long or
 * NULL when 0 (a visit id), 'd' date (day number), 'D' date or NULL when negative,
 * 'r' real in tenths, 's' text, 'n' NULL. */
static void gen_insert(struct gen *gen, enum gen_table table, const char *types, ...)
{
    sqlite3_stmt *stmt = gen->insert[table];
    char dates[8][16];
    int ndates = 0;
    va_list ap;

    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        int at = i + 1;
        long long id;
        int day;

        switch (types[i]) {
        case 'i':
            sqlite3_bind_int(stmt, at, va_arg(ap, int));
            break;
        case 'I':
            sqlite3_bind_int64(stmt, at, va_arg(ap, long long));
            break;
        case 'v':
            id = va_arg(ap, long long);
            if (id == 0)
                sqlite3_bind_null(stmt, at);
            else
                sqlite3_bind_int64(stmt, at, id);
            break;
        case 'd':
        case 'D':
            day = va_arg(ap, int);
            if (day < 0 && types[i] == 'D') {
                sqlite3_bind_null(stmt, at);
                break;
            }
            gen_date(day, dates[ndates]);
            sqlite3_bind_text(stmt, at, dates[ndates++], 10, SQLITE_STATIC);
            break;
        case 'r':
            sqlite3_bind_double(stmt, at, va_arg(ap, int) / 10.0);
            break;
        case 's':
            sqlite3_bind_text(stmt, at, va_arg(ap, const char *), -1, SQLITE_STATIC);
            break;
        default:
            sqlite3_bind_null(stmt, at);
            break;
        }
    }
    va_end(ap);
    if (sqlite3_step(stmt) != SQLITE_DONE)
        panic("insert into %s: %s", gen_table_name[table], sqlite3_errmsg(gen->db));
    sqlite3_reset(stmt);
    gen->rows[table]++;
}

/* Age in 2024 by ten-year band, in percent: a broad adult population. */
static const int gen_age_bands[] = {12, 12, 13, 13, 12, 13, 12, 8, 4, 1};

static void gen_demographics(struct gen_person *p)
{
    int band = 0, pick = gen_below(&p->rng, 100);
    int age;

    while (pick >= gen_age_bands[band]) {
        pick -= gen_age_bands[band];
        band++;
    }
    age = band * 10 + gen_below(&p->rng, 10);
    p->year_of_birth = 2024 - age;
    p->birth_day = gen_day_of(p->year_of_birth, 1, 1) + gen_below(&p->rng, 365);
    if (p->birth_day > GEN_END_DAY - 30)
        p->birth_day -= 31; /* leaves room for a first observation period after birth */
    p->gender = gen_chance(&p->rng, 51) ? 8532 : 8507;
}

static int gen_age_at(const struct gen_person *p, int day)
{
    return gen_year_of(day) - p->year_of_birth;
}

static void gen_insert_person(struct gen *gen, struct gen_person *p)
{
    static const int races[] = {8527, 8527, 8527, 8527, 8527, 8527, 8516, 8516, 8515, 0};
    char source[24], date[16];
    int race = races[gen_below(&p->rng, 10)];
    int ethnicity = gen_chance(&p->rng, 18) ? 38003563 : 38003564;

    gen_date(p->birth_day, date);
    snprintf(source, sizeof(source), "P%010lld", p->id);
    gen_insert(gen, GEN_PERSON, "Iiiiiiiss", p->id, p->gender, p->year_of_birth, atoi(date + 5),
               atoi(date + 8), race, ethnicity, source, p->gender == 8507 ? "M" : "F");
}

/* One or two observation periods within 2000..2024, after birth; some end
 * in death, which closes the last period. */
static void gen_periods(struct gen *gen, struct gen_person *p)
{
    int start = GEN_START_DAY + gen_below(&p->rng, GEN_END_DAY - GEN_START_DAY - 30);
    int room, end, age;

    if (start < p->birth_day)
        start = p->birth_day;
    if (start > GEN_END_DAY - 30)
        start = GEN_END_DAY - 30;
    room = GEN_END_DAY - start;
    end = start + 30 + (int)((long long)room * gen_below(&p->rng, 1000) / 1000);
    if (end > GEN_END_DAY)
        end = GEN_END_DAY;
    p->nperiods = 1;
    p->periods[0][0] = start;
    p->periods[0][1] = end;
    if (end - start > 800 && gen_chance(&p->rng, 15)) {
        int mid = start + 200 + gen_below(&p->rng, end - start - 700);

        p->periods[0][1] = mid;
        p->periods[1][0] = mid + 90 + gen_below(&p->rng, 300);
        p->periods[1][1] = end;
        p->nperiods = 2;
    }
    age = gen_age_at(p, end);
    p->died = gen_chance(&p->rng, age >= 60 ? (age - 50) / 2 : 1) && end < GEN_END_DAY;
    for (int i = 0; i < p->nperiods; i++)
        gen_insert(gen, GEN_OBSERVATION_PERIOD, "IIddi", gen->rows[GEN_OBSERVATION_PERIOD] + 1,
                   p->id, p->periods[i][0], p->periods[i][1], GEN_PERIOD_TYPE);
}

static int gen_compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

/* The period that holds day, or -1. */
static int gen_period_of(const struct gen_person *p, int day)
{
    for (int i = 0; i < p->nperiods; i++) {
        if (day >= p->periods[i][0] && day <= p->periods[i][1])
            return i;
    }
    return -1;
}

/* Records an event for era building. A person this busy has enough: the cap
 * keeps memory fixed, and the caller then writes no row, so every condition
 * and exposure row is covered by an era. */
static bool gen_push(struct gen_event *events, int *n, int concept, int start, int end)
{
    if (*n >= GEN_MAX_EVENTS)
        return false;
    events[*n].concept = concept;
    events[*n].start = start;
    events[*n].end = end;
    (*n)++;
    return true;
}

static int gen_list_length(const int *list, int cap)
{
    int n = 0;

    while (n < cap && list[n] != 0)
        n++;
    return n;
}

/* One drug exposure, cut at the end of the observation period holding it. */
static void gen_exposure(struct gen *gen, struct gen_person *p, int drug, int start, int supply,
                         long long visit_id)
{
    int period = gen_period_of(p, start);
    int end = start + supply - 1;

    if (period < 0)
        return;
    if (end > p->periods[period][1])
        end = p->periods[period][1];
    if (!gen_push(p->drugs, &p->ndrugs, drug, start, end))
        return;
    gen_insert(gen, GEN_DRUG, "IIiddiiiv", gen->rows[GEN_DRUG] + 1, p->id, drug, start, end,
               GEN_TYPE_EHR, end - start + 1, (end - start + 1) * 2, visit_id);
}

static void gen_condition(struct gen *gen, struct gen_person *p, int concept,
                          const struct gen_visit *visit, int end)
{
    if (!gen_push(p->conditions, &p->nconditions, concept, visit->start,
                  end >= 0 ? end : visit->start))
        return;
    gen_insert(gen, GEN_CONDITION, "IIidDiI", gen->rows[GEN_CONDITION] + 1, p->id, concept,
               visit->start, end, GEN_TYPE_EHR, visit->id);
}

static int gen_pick_acute(struct gen_person *p, int age)
{
    int n = (int)(sizeof(gen_acute_list) / sizeof(gen_acute_list[0]));
    int total = 0, pick;

    for (int i = 0; i < n; i++)
        total += age < 18 ? gen_acute_list[i].weight_child : gen_acute_list[i].weight_adult;
    pick = gen_below(&p->rng, total);
    for (int i = 0; i < n; i++) {
        pick -= age < 18 ? gen_acute_list[i].weight_child : gen_acute_list[i].weight_adult;
        if (pick < 0)
            return i;
    }
    return 0;
}

/* A short illness diagnosed at the visit, often treated for a week or so. */
static void gen_acute_illness(struct gen *gen, struct gen_person *p, const struct gen_visit *v,
                              int age)
{
    const struct gen_acute *acute = &gen_acute_list[gen_pick_acute(p, age)];
    int end = v->start + 7 + gen_below(&p->rng, 8);
    int period = gen_period_of(p, v->start);
    int ndrugs = gen_list_length(acute->drugs, 3);

    if (end > p->periods[period][1])
        end = p->periods[period][1];
    gen_condition(gen, p, acute->concept, v, end);
    if (ndrugs > 0 && gen_chance(&p->rng, 60))
        gen_exposure(gen, p, acute->drugs[gen_below(&p->rng, ndrugs)], v->start,
                     7 + gen_below(&p->rng, 4), v->id);
}

static void gen_measure(struct gen *gen, struct gen_person *p, const struct gen_visit *v,
                        int concept, int tenths, int unit)
{
    gen_insert(gen, GEN_MEASUREMENT, "IIidiriI", gen->rows[GEN_MEASUREMENT] + 1, p->id, concept,
               v->start, GEN_TYPE_EHR, tenths, unit, v->id);
}

static bool gen_has(const struct gen_person *p, int concept)
{
    int n = (int)(sizeof(gen_chronic_list) / sizeof(gen_chronic_list[0]));

    for (int i = 0; i < n; i++) {
        if (gen_chronic_list[i].concept == concept)
            return (p->chronic_mask >> i) & 1;
    }
    return false;
}

/* Vital signs and a few labs, with values that depend on age, sex and the
 * person's conditions. Values are in tenths of the unit. */
static void gen_measurements(struct gen *gen, struct gen_person *p, const struct gen_visit *v,
                             int age)
{
    bool male = p->gender == 8507;

    if (age >= 3 && gen_chance(&p->rng, 60)) {
        int systolic = gen_normal(&p->rng, 1100 + age * 5 + (gen_has(p, 320128) ? 150 : 0), 120);

        gen_measure(gen, p, v, 3004249, systolic / 10 * 10, 8876);
        gen_measure(gen, p, v, 3012888, gen_normal(&p->rng, systolic * 6 / 10, 60) / 10 * 10, 8876);
    }
    if (age >= 2 && gen_chance(&p->rng, 30)) {
        int weight = age < 18 ? 100 + age * 35 : gen_normal(&p->rng, male ? 840 : 720, 150);
        int height = age < 18 ? 800 + age * 55 : gen_normal(&p->rng, male ? 1760 : 1630, 70);

        gen_measure(gen, p, v, 3025315, weight, 9529);
        gen_measure(gen, p, v, 3036277, height, 8582);
        gen_measure(gen, p, v, 3038553, (int)(weight * 1000000LL / ((long long)height * height)),
                    9531);
    }
    if (gen_chance(&p->rng, 30))
        gen_measure(gen, p, v, 3027018, gen_normal(&p->rng, 750, 100) / 10 * 10, 8541);
    if (gen_has(p, 201826) && gen_chance(&p->rng, 50))
        gen_measure(gen, p, v, 3004410, gen_normal(&p->rng, 72, 10), 8554);
    if (age >= 18 && gen_chance(&p->rng, 8))
        gen_measure(gen, p, v, 3027114, gen_normal(&p->rng, 1950, 350) / 10 * 10, 8840);
}

static void gen_observations(struct gen *gen, struct gen_person *p, const struct gen_visit *v,
                             int age)
{
    static const char *const smoking[] = {"Never smoker", "Never smoker", "Never smoker",
                                          "Former smoker", "Current every day smoker"};
    static const char *const housing[] = {"Stable housing", "Stable housing", "Stable housing",
                                          "Temporary housing"};

    if (age >= 15 && (p->nvisits == 1 || gen_chance(&p->rng, 10)))
        gen_insert(gen, GEN_OBSERVATION, "IIidisI", gen->rows[GEN_OBSERVATION] + 1, p->id, 43054909,
                   v->start, GEN_TYPE_EHR, smoking[gen_below(&p->rng, 5)], v->id);
    if (age >= 18 && gen_chance(&p->rng, 8))
        gen_insert(gen, GEN_OBSERVATION, "IIidisI", gen->rows[GEN_OBSERVATION] + 1, p->id, 42869557,
                   v->start, GEN_TYPE_EHR, housing[gen_below(&p->rng, 4)], v->id);
}

/* One visit and what was recorded at it. */
static void gen_visit(struct gen *gen, struct gen_person *p, int day)
{
    struct gen_visit *v = &p->visits[p->nvisits++];
    int kind = gen_below(&p->rng, 100), age = gen_age_at(p, day);
    int period_end = p->periods[gen_period_of(p, day)][1];
    int nprocedures = (int)(sizeof(gen_procedures) / sizeof(gen_procedures[0]));

    v->id = gen->rows[GEN_VISIT] + 1;
    v->concept = kind < 85 ? 9202 : kind < 95 ? 9203 : 9201;
    v->start = day;
    v->end = v->concept == 9201 ? day + 1 + gen_below(&p->rng, 7) : day;
    if (v->end > period_end)
        v->end = period_end;
    gen_insert(gen, GEN_VISIT, "IIiddi", v->id, p->id, v->concept, v->start, v->end, GEN_TYPE_EHR);
    gen_measurements(gen, p, v, age);
    gen_observations(gen, p, v, age);
    if (gen_chance(&p->rng, 25))
        gen_insert(gen, GEN_PROCEDURE, "IIidiI", gen->rows[GEN_PROCEDURE] + 1, p->id,
                   gen_procedures[gen_below(&p->rng, nprocedures)], day, GEN_TYPE_EHR, v->id);
    if (gen_chance(&p->rng, v->concept == 9202 ? 30 : 80))
        gen_acute_illness(gen, p, v, age);
}

/* Visits fall on random days inside the observation periods, more of them
 * for older people; the first day of each period is a visit. */
static void gen_visits(struct gen *gen, struct gen_person *p)
{
    int days[GEN_MAX_VISITS], total = 0, n = 0;
    int age = gen_age_at(p, p->periods[p->nperiods - 1][1]);

    for (int i = 0; i < p->nperiods; i++)
        total += p->periods[i][1] - p->periods[i][0] + 1;
    n = (int)((long long)total * (40 + age * 10 / 6) * (50 + gen_below(&p->rng, 100)) /
              (36525LL * 100));
    n = n < p->nperiods ? p->nperiods : n > GEN_MAX_VISITS ? GEN_MAX_VISITS : n;
    for (int i = 0; i < p->nperiods; i++)
        days[i] = p->periods[i][0];
    for (int i = p->nperiods; i < n; i++) {
        int offset = gen_below(&p->rng, total);
        int k = 0;

        while (offset > p->periods[k][1] - p->periods[k][0]) {
            offset -= p->periods[k][1] - p->periods[k][0] + 1;
            k++;
        }
        days[i] = p->periods[k][0] + offset;
    }
    qsort(days, (size_t)n, sizeof(days[0]), gen_compare_int);
    for (int i = 0; i < n; i++)
        gen_visit(gen, p, days[i]);
}

#define GEN_NCHRONIC ((int)(sizeof(gen_chronic_list) / sizeof(gen_chronic_list[0])))

/* Long-term conditions, drawn by age at the end of observation so vital
 * signs at every visit can reflect them. */
static void gen_choose_chronic(struct gen_person *p)
{
    int age = gen_age_at(p, p->periods[p->nperiods - 1][1]);

    p->chronic_mask = 0;
    for (int i = 0; i < GEN_NCHRONIC; i++) {
        const struct gen_chronic *c = &gen_chronic_list[i];
        int percent = c->max_percent;

        if (age < c->from_age)
            continue;
        if (c->per_percent > 0 && (age - c->from_age) / c->per_percent < percent)
            percent = (age - c->from_age) / c->per_percent;
        if (gen_below(&p->rng, 1000) < percent * 10)
            p->chronic_mask |= 1 << i;
    }
}

/* Monthly fills from the day of diagnosis, with an occasional pause long
 * enough to split the drug era. Fills stop at the end of that period. */
static void gen_treatment(struct gen *gen, struct gen_person *p, const struct gen_chronic *c,
                          const struct gen_visit *onset)
{
    int ndrugs = gen_list_length(c->drugs, 4);
    int fills = 2 + gen_below(&p->rng, 18), day = onset->start;
    int period = gen_period_of(p, day);
    int drug;

    if (ndrugs == 0)
        return;
    drug = c->drugs[gen_below(&p->rng, ndrugs)];
    for (int i = 0; i < fills && day <= p->periods[period][1]; i++) {
        gen_exposure(gen, p, drug, day, 30, i == 0 ? onset->id : 0);
        day += 30 + (gen_chance(&p->rng, 12) ? 31 + gen_below(&p->rng, 90) : gen_below(&p->rng, 5));
    }
}

/* A chronic condition is diagnosed at one visit and recorded again at about
 * a third of the later ones; it has no end date. */
static void gen_chronic(struct gen *gen, struct gen_person *p)
{
    for (int i = 0; i < GEN_NCHRONIC; i++) {
        int onset;

        if (!((p->chronic_mask >> i) & 1))
            continue;
        onset = gen_below(&p->rng, p->nvisits);
        gen_condition(gen, p, gen_chronic_list[i].concept, &p->visits[onset], -1);
        for (int k = onset + 1; k < p->nvisits; k++) {
            if (gen_chance(&p->rng, 35))
                gen_condition(gen, p, gen_chronic_list[i].concept, &p->visits[k], -1);
        }
        gen_treatment(gen, p, &gen_chronic_list[i], &p->visits[onset]);
    }
}

static void gen_death(struct gen *gen, struct gen_person *p)
{
    int cause = 0;

    if (!p->died)
        return;
    for (int i = GEN_NCHRONIC - 1; i >= 0; i--) {
        if ((p->chronic_mask >> i) & 1)
        cause = gen_chronic_list[i].concept;
    }
    gen_insert(gen, GEN_DEATH, "Idii", p->id, p->periods[p->nperiods - 1][1], GEN_TYPE_EHR, cause);
}

static int gen_compare_event(const void *a, const void *b)
{
    const struct gen_event *x = a, *y = b;

    if (x->concept != y->concept)
        return (x->concept > y->concept) - (x->concept < y->concept);
    if (x->start != y->start)
        return (x->start > y->start) - (x->start < y->start);
    return (x->end > y->end) - (x->end < y->end);
}

/* Eras: events of one concept whose gap to the running era end is at most
 * GEN_ERA_GAP days merge; gap_days sums the uncovered days inside an era. */
static void gen_eras(struct gen *gen, struct gen_person *p, struct gen_event *events, int n,
                     enum gen_table table)
{
    qsort(events, (size_t)n, sizeof(events[0]), gen_compare_event);
    for (int i = 0; i < n;) {
        int start = events[i].start, end = events[i].end, count = 1, gap = 0, k = i + 1;

        while (k < n && events[k].concept == events[i].concept &&
               events[k].start <= end + GEN_ERA_GAP) {
            if (events[k].start > end + 1)
                gap += events[k].start - end - 1;
            if (events[k].end > end)
                end = events[k].end;
            count++;
            k++;
        }
        if (table == GEN_DRUG_ERA)
            gen_insert(gen, table, "IIiddii", gen->rows[table] + 1, p->id, events[i].concept, start,
                       end, count, gap);
        else
            gen_insert(gen, table, "IIiddi", gen->rows[table] + 1, p->id, events[i].concept, start,
                       end, count);
        i = k;
    }
}

static void gen_person(struct gen *gen, long long id, struct gen_person *p)
{
    memset(p, 0, offsetof(struct gen_person, visits));
    p->nvisits = p->nconditions = p->ndrugs = 0;
    p->id = id;
    p->rng = gen->seed ^ ((uint64_t)id * 0xd1b54a32d192ed03ULL);
    gen_next(&p->rng);
    gen_demographics(p);
    gen_insert_person(gen, p);
    gen_periods(gen, p);
    gen_choose_chronic(p);
    gen_visits(gen, p);
    gen_chronic(gen, p);
    gen_death(gen, p);
    gen_eras(gen, p, p->conditions, p->nconditions, GEN_CONDITION_ERA);
    gen_eras(gen, p, p->drugs, p->ndrugs, GEN_DRUG_ERA);
}

/* The vocabulary tables, written from gen_concepts: concept, the ancestry
 * above, and the small lookup tables the concepts name. */
static const char gen_vocabulary_sql[] =
    "INSERT INTO concept VALUES (0, 'No matching concept', 'Metadata', 'None', 'Undefined', "
    "NULL, 'No matching concept', '1970-01-01', '2099-12-31', NULL);"
    "INSERT INTO concept_ancestor SELECT concept_id, concept_id, 0, 0 FROM concept "
    "WHERE standard_concept = 'S';"
    "INSERT INTO concept_relationship SELECT concept_id, concept_id, r.id, '1970-01-01', "
    "'2099-12-31', NULL FROM concept, (SELECT 'Maps to' AS id UNION ALL SELECT 'Mapped from') r "
    "WHERE standard_concept = 'S';"
    "INSERT INTO concept_relationship SELECT descendant_concept_id, ancestor_concept_id, "
    "'Is a', '1970-01-01', '2099-12-31', NULL FROM concept_ancestor "
    "WHERE min_levels_of_separation = 1;"
    "INSERT INTO concept_relationship SELECT ancestor_concept_id, descendant_concept_id, "
    "'Subsumes', '1970-01-01', '2099-12-31', NULL FROM concept_ancestor "
    "WHERE min_levels_of_separation = 1;"
    "INSERT INTO vocabulary SELECT DISTINCT vocabulary_id, vocabulary_id, NULL, "
    "'omcp-cdmgen', 0 FROM concept;"
    "INSERT INTO domain SELECT DISTINCT domain_id, domain_id, 0 FROM concept;"
    "INSERT INTO concept_class SELECT DISTINCT concept_class_id, concept_class_id, 0 FROM concept;"
    "INSERT INTO relationship VALUES ('Maps to', 'Non-standard to Standard map (OMOP)', '0', "
    "'0', 'Mapped from', 0), ('Mapped from', 'Standard to Non-standard map (OMOP)', '0', '0', "
    "'Maps to', 0), ('Is a', 'Is a', '1', '1', 'Subsumes', 0), "
    "('Subsumes', 'Subsumes', '1', '1', 'Is a', 0);"
    "INSERT INTO cdm_source VALUES ('omcp-rproxy synthetic CDM', 'synthetic', 'omcp-rproxy', "
    "'Seeded synthetic data written by omcp-cdmgen; no real person', NULL, NULL, "
    "'2024-12-31', '2024-12-31', 'v5.4', 756265, 'omcp-cdmgen');";

static void gen_vocabulary(struct gen *gen)
{
    sqlite3_stmt *concept =
        cdmdb_prepare(gen->db, "INSERT INTO concept VALUES "
                               "(?,?,?,?,?,'S',?,'1970-01-01','2099-12-31',NULL)");
    sqlite3_stmt *ancestor =
        cdmdb_prepare(gen->db, "INSERT INTO concept_ancestor VALUES (?,?,?,?)");

    if (!concept || !ancestor)
        panic("cannot prepare the vocabulary inserts");
    for (size_t i = 0; i < sizeof(gen_concepts) / sizeof(gen_concepts[0]); i++) {
        const struct gen_concept *c = &gen_concepts[i];

        sqlite3_bind_int(concept, 1, c->id);
        sqlite3_bind_text(concept, 2, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(concept, 3, c->domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(concept, 4, c->vocabulary, -1, SQLITE_STATIC);
        sqlite3_bind_text(concept, 5, c->concept_class, -1, SQLITE_STATIC);
        sqlite3_bind_text(concept, 6, c->code, -1, SQLITE_STATIC);
        if (sqlite3_step(concept) != SQLITE_DONE)
            panic("concept %d: %s", c->id, sqlite3_errmsg(gen->db));
        sqlite3_reset(concept);
    }
    for (size_t i = 0; i < sizeof(gen_hierarchy) / sizeof(gen_hierarchy[0]); i++) {
        for (int k = 0; k < 4; k++)
            sqlite3_bind_int(ancestor, k + 1, gen_hierarchy[i][k < 2 ? k : 2]);
        if (sqlite3_step(ancestor) != SQLITE_DONE)
            panic("concept_ancestor: %s", sqlite3_errmsg(gen->db));
        sqlite3_reset(ancestor);
    }
    sqlite3_finalize(concept);
    sqlite3_finalize(ancestor);
    if (!cdmdb_exec(gen->db, gen_vocabulary_sql))
        panic("cannot write the vocabulary tables");
}

static void gen_prepare(struct gen *gen)
{
    for (int t = 0; t < GEN_NTABLES; t++) {
        gen->insert[t] = cdmdb_prepare(gen->db, gen_insert_sql[t]);
        if (!gen->insert[t])
            panic("cannot prepare the insert into %s", gen_table_name[t]);
    }
}

static void gen_finalize(struct gen *gen)
{
    for (int t = 0; t < GEN_NTABLES; t++) {
        sqlite3_finalize(gen->insert[t]);
        gen->insert[t] = NULL;
    }
}

/* Generates every person, printing progress to stderr every 100,000. */
static void gen_people(struct gen *gen, double started)
{
    struct gen_person *p = xmalloc(sizeof(*p));

    for (long long id = 1; id <= gen->persons; id++) {
        gen_person(gen, id, p);
        if (id % 100000 == 0)
            fprintf(stderr, "omcp-cdmgen: %lld persons, %.1f s\n", id, cdmdb_now() - started);
    }
    free(p);
}

static void gen_report(const struct gen *gen, const char *out_path, double started,
                       double finishing)
{
    double done = cdmdb_now();
    long long total = 0;
    FILE *file = fopen(out_path, "rb");
    long size = -1;

    if (file && fseek(file, 0, SEEK_END) == 0)
        size = ftell(file);
    if (file)
        fclose(file);
    for (int t = 0; t < GEN_NTABLES; t++) {
        printf("%-24s %12lld rows\n", gen_table_name[t], gen->rows[t]);
        total += gen->rows[t];
    }
    printf("omcp-cdmgen: persons=%lld seed=%" PRIu64 " rows=%lld generate_s=%.2f "
           "index_s=%.2f total_s=%.2f bytes=%ld out=%s\n",
           gen->persons, gen->seed, total, finishing - started, done - finishing, done - started,
           size, out_path);
}

static int gen_usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s --persons N --seed S --out FILE.sqlite\n"
            "Writes a synthetic OMOP CDM 5.4 to FILE.sqlite (built beside it, then renamed).\n"
            "The same N and S give the same database. Defaults: 10000 persons, seed 1.\n",
            argv0);
    return 2;
}

/* Parses a whole decimal number in [min, max]. */
static bool gen_number(const char *text, unsigned long long min, unsigned long long max,
                       unsigned long long *value)
{
    char *end;

    if (!text[0] || text[0] == '-')
        return false;
    *value = strtoull(text, &end, 10);
    return *end == '\0' && *value >= min && *value <= max;
}

static bool gen_options(int argc, char **argv, struct gen *gen, const char **out_path)
{
    static const struct option options[] = {
        {"persons", required_argument, NULL, 'p'},
        {"seed", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long long value;
    int c;

    gen->persons = 10000;
    gen->seed = 1;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'p' && gen_number(optarg, 1, 100000000, &value))
            gen->persons = (long long)value;
        else if (c == 's' && gen_number(optarg, 0, UINT64_MAX, &value))
            gen->seed = value;
        else if (c == 'o')
            *out_path = optarg;
        else
            return false;
    }
    return *out_path && optind == argc;
}

int main(int argc, char **argv)
{
    struct gen gen = {.db = NULL};
    const char *out_path = NULL;
    struct cdmdb cdm;
    double started = cdmdb_now(), finishing;

    if (!gen_options(argc, argv, &gen, &out_path))
        return gen_usage(argv[0]);
    if (!cdmdb_create(&cdm, out_path, cdm_sql_cdm54))
        return 1;
    gen.db = cdm.db;
    gen_vocabulary(&gen);
    gen_prepare(&gen);
    gen_people(&gen, started);
    gen_finalize(&gen);
    finishing = cdmdb_now();
    if (!cdmdb_finish(&cdm, true))
        return 1;
    gen_report(&gen, out_path, started, finishing);
    return 0;
}
