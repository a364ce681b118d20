use super::*;
use crate::testutil::TempDir;

fn err(toml: &str) -> String {
    match Config::parse(toml).and_then(|c| c.validate()) {
        Ok(()) => panic!("accepted:\n{toml}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn defaults_are_the_statement_defaults() {
    let c = Config::parse("").unwrap();
    let sp = &c.storage_provider;
    assert_eq!(sp.ae_titles.len(), 1);
    assert_eq!(sp.ae_titles[0].as_str(), "CDP_PRINTER");
    assert_eq!(sp.port, 104);
    assert_eq!(sp.max_pdu_length, 16384);
    assert_eq!(sp.max_associations, 5);
    assert_eq!(sp.artim_timeout_secs, 10);
    assert_eq!(sp.dimse_timeout_secs, 30);
    assert_eq!(sp.max_pending_connections, 16);
    assert_eq!(sp.max_pending_per_address, 4);
    assert_eq!(sp.min_receive_bytes_per_sec, 1024);
    assert_eq!(
        sp.implementation_class_uid.as_str(),
        IMPLEMENTATION_CLASS_UID
    );
    assert_eq!(c.media.profile, Profile::StdGenCd);
    assert_eq!(c.media.cd_capacity_mb, CdCapacity::Mb700);
    assert_eq!(c.archive.data_dir, PathBuf::from("./dcmdisc-data"));
    c.validate().unwrap();
    Config::default().validate().unwrap();
}

#[test]
fn defaults_are_valid() {
    // The built-in values skip the checks when the defaults are made (`builtin`): check them.
    let c = Config::default();
    let sp = &c.storage_provider;
    for ae in &sp.ae_titles {
        assert_eq!(ae.as_str().parse::<AeTitle>().unwrap(), *ae);
    }
    let uid = sp.implementation_class_uid.as_str();
    assert_eq!(uid.parse::<Uid>().unwrap(), sp.implementation_class_uid);
    let name = sp.implementation_version_name.as_str();
    assert_eq!(
        name.parse::<VersionName>().unwrap(),
        sp.implementation_version_name
    );
    let pattern = c.media.fileset_id_pattern.as_str();
    assert_eq!(
        pattern.parse::<FilesetIdPattern>().unwrap(),
        c.media.fileset_id_pattern
    );
    let volume_id = c.media.volume_id.as_str();
    assert_eq!(
        volume_id.parse::<VolumeIdPattern>().unwrap(),
        c.media.volume_id
    );
    for text in [&c.media.institution, &c.media.contact] {
        assert_eq!(text.as_str().parse::<DiscText>().unwrap(), *text);
    }
    assert!(c.media.web_content);
}

#[test]
fn disc_texts_are_read_and_wrong_ones_refused_with_their_key() {
    let c = Config::parse(
        "[media]\ninstitution = \"Example Hospital\"\ncontact = \"+1 555 0100\"\n\
         web_content = false",
    )
    .unwrap();
    assert_eq!(c.media.institution.as_str(), "Example Hospital");
    assert_eq!(c.media.contact.as_str(), "+1 555 0100");
    assert!(!c.media.web_content);
    let err = |t: &str| Config::parse(t).unwrap_err().to_string();
    assert_eq!(
        err("[media]\ninstitution = \"Klinikum M\u{fc}nchen\""),
        "[media] institution: \"Klinikum M\u{fc}nchen\" is not a disc text (0-64 printable \
         ASCII characters: README.TXT is 7-bit ASCII) (line 2)"
    );
    assert!(
        err(&format!("[media]\ncontact = \"{}\"", "x".repeat(65))).starts_with("[media] contact: ")
    );
    assert!(err("[media]\nweb_content = \"yes\"").starts_with("[media] web_content: "));
}

#[test]
fn example_file_loads_and_matches_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dcmdisc.example.toml");
    let c = Config::load(Some(&path)).unwrap();
    c.validate().unwrap();
    assert_eq!(c.storage_provider.max_pdu_length, 16384);
    let (sp, default) = (&c.storage_provider, StorageProvider::default());
    assert_eq!(
        (
            sp.max_pending_connections,
            sp.max_pending_per_address,
            sp.min_receive_bytes_per_sec
        ),
        (
            default.max_pending_connections,
            default.max_pending_per_address,
            default.min_receive_bytes_per_sec
        )
    );
    assert_eq!(
        c.storage_provider.implementation_version_name.as_str(),
        IMPLEMENTATION_VERSION_NAME
    );
    let (t, default) = (&c.tls, tls::TlsSection::default());
    assert_eq!(
        (t.enabled, t.port, t.require_client_cert, t.cert.is_none()),
        (
            default.enabled,
            default.port,
            default.require_client_cert,
            true
        )
    );
    let (w, default) = (&c.web, web::WebSection::default());
    assert_eq!(
        (w.enabled, w.bind_address, w.port),
        (default.enabled, default.bind_address, default.port)
    );
    assert_eq!(c.label, label::LabelSection::default());
}

#[test]
fn every_bound_names_its_key_and_range() {
    let cases: &[(&str, &str)] = &[
        (
            "max_pdu_length = 100",
            "[storage_provider] max_pdu_length = 100: allowed range is 4096..=4194304 bytes",
        ),
        (
            "max_pdu_length = 4095",
            "[storage_provider] max_pdu_length = 4095: allowed range is 4096..=4194304 bytes",
        ),
        (
            "max_pdu_length = 4194305",
            "[storage_provider] max_pdu_length = 4194305: allowed range is 4096..=4194304 bytes",
        ),
        (
            "max_associations = 0",
            "[storage_provider] max_associations = 0: allowed range is 1..=1000",
        ),
        (
            "max_associations = 1001",
            "[storage_provider] max_associations = 1001: allowed range is 1..=1000",
        ),
        (
            "artim_timeout_secs = 0",
            "[storage_provider] artim_timeout_secs = 0: allowed range is 1..=3600 seconds",
        ),
        (
            "artim_timeout_secs = 3601",
            "[storage_provider] artim_timeout_secs = 3601: allowed range is 1..=3600 seconds",
        ),
        (
            "dimse_timeout_secs = 0",
            "[storage_provider] dimse_timeout_secs = 0: allowed range is 1..=3600 seconds",
        ),
        (
            "dimse_timeout_secs = 3601",
            "[storage_provider] dimse_timeout_secs = 3601: allowed range is 1..=3600 seconds",
        ),
        (
            "max_pending_connections = 0",
            "[storage_provider] max_pending_connections = 0: allowed range is 1..=10000",
        ),
        (
            "max_pending_connections = 10001",
            "[storage_provider] max_pending_connections = 10001: allowed range is 1..=10000",
        ),
        (
            "max_pending_per_address = 0",
            "[storage_provider] max_pending_per_address = 0: allowed range is 1..=10000",
        ),
        (
            "min_receive_bytes_per_sec = 1048577",
            "[storage_provider] min_receive_bytes_per_sec = 1048577: allowed range is \
             0..=1048576 bytes per second (0: no minimum)",
        ),
        (
            "shutdown_grace_secs = 3601",
            "[storage_provider] shutdown_grace_secs = 3601: allowed range is 0..=3600 seconds",
        ),
        (
            "ae_titles = []",
            "[storage_provider] ae_titles is empty: at least one local AE title is needed",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(err(&format!("[storage_provider]\n{line}\n")), *want);
    }
    assert_eq!(
        err("[media]\nfileset_consistency_flag = 5"),
        "[media] fileset_consistency_flag = 5: 0 or 65535"
    );
    let e = Config::parse("[storage_provider]\ntransfer_syntax_preference = [\"1.2.3\"]")
        .unwrap()
        .validate()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "[storage_provider] transfer_syntax_preference"
    );
    assert!(std::error::Error::source(&e)
        .unwrap()
        .to_string()
        .contains("1.2.3"));
    // The bounds themselves are allowed.
    for ok in [
        "max_pdu_length = 4096",
        "max_pdu_length = 4194304",
        "max_associations = 1000",
        "shutdown_grace_secs = 0",
        "artim_timeout_secs = 3600",
        "max_pending_connections = 1",
        "max_pending_per_address = 10000",
        "min_receive_bytes_per_sec = 0",
        "min_receive_bytes_per_sec = 1048576",
    ] {
        Config::parse(&format!("[storage_provider]\n{ok}"))
            .unwrap()
            .validate()
            .unwrap();
    }
}

#[test]
fn wrong_values_name_the_key_and_the_allowed_values() {
    let cases: &[(&str, &str)] = &[
        (
            "[media]\nprofile = \"STD-GEN-FLOPPY\"",
            "[media] profile: \"STD-GEN-FLOPPY\" is not one of STD-GEN-CD, STD-GEN-DVD-JPEG, \
             STD-GEN-BD, STD-GEN-USB-JPEG (line 2)",
        ),
        (
            "[media]\ncd_capacity_mb = 600",
            "[media] cd_capacity_mb: 600 is not one of 650, 700 (line 2)",
        ),
        (
            "[media]\nfileset_id_pattern = \"lower_{n}\"",
            "[media] fileset_id_pattern: \"lower_{n}\" is not a File-set ID pattern (expanded, \
             up to 999 volumes, it must be 1-16 characters of A-Z, 0-9, _ and space) (line 2)",
        ),
        (
            "[media]\nvolume_id = \"DCMDISC_{date}_{job}_{n}OF{m}\"",
            "[media] volume_id: \"DCMDISC_{date}_{job}_{n}OF{m}\" is not a Volume Identifier \
             pattern (A-Z, 0-9, _ and the placeholders {date} {yymmdd} {job} {n} {m}; at most \
             32 characters once expanded, for job numbers of up to 10 digits and up to 999 \
             volumes) (line 2)",
        ),
        (
            "[media]\nvolume_id = \"Disc-{n}\"",
            "[media] volume_id: \"Disc-{n}\" is not a Volume Identifier pattern (A-Z, 0-9, _ \
             and the placeholders {date} {yymmdd} {job} {n} {m}; at most 32 characters once \
             expanded, for job numbers of up to 10 digits and up to 999 volumes) (line 2)",
        ),
        (
            "[media]\njoliet = \"yes\"",
            "[media] joliet: invalid type: string \"yes\", expected a boolean (line 2)",
        ),
        (
            "[storage_provider]\ndestination_transfer_syntax = \"jpeg\"",
            "[storage_provider] destination_transfer_syntax: \"jpeg\" is not one of \
             as-received, explicit-le, implicit-le (line 2)",
        ),
        (
            "[storage_provider]\nae_titles = [\"OK\", \"BACK\\\\SLASH\"]",
            "[storage_provider] ae_titles: \"BACK\\\\SLASH\" is not an AE title (1-16 printable \
             characters, no backslash) (line 2)",
        ),
        (
            "[storage_provider]\nimplementation_class_uid = \"1.02\"",
            "[storage_provider] implementation_class_uid: \"1.02\" is not a UID (digits and \
             dots, at most 64 characters) (line 2)",
        ),
        (
            "[storage_provider]\nimplementation_version_name = \"TWO WORDS\"",
            "[storage_provider] implementation_version_name: \"TWO WORDS\" is not an \
             implementation version name (1-16 printable characters, no space or backslash) \
             (line 2)",
        ),
    ];
    for (toml, want) in cases {
        assert_eq!(err(toml), *want);
    }
    // Values serde itself refuses still name their key.
    for (toml, key) in [
        (
            "[storage_provider]\nmax_associations = \"five\"",
            "[storage_provider] max_associations",
        ),
        (
            "[storage_provider]\nport = 70000",
            "[storage_provider] port",
        ),
        (
            "[storage_provider]\nbind_address = \"localhost\"",
            "[storage_provider] bind_address",
        ),
        ("[archive]\ndurable = \"yes\"", "[archive] durable"),
        ("[storage_provider]\nmax_pdu = 100", "[storage_provider]"),
    ] {
        let e = err(toml);
        assert!(e.starts_with(key), "{toml}: {e}");
    }
    assert!(err("[storage_provider\n").contains("line 1"));
}

#[test]
fn a_relative_data_dir_is_relative_to_the_config_file() {
    let tmp = TempDir::new("config");
    let sub = tmp.path().join("etc");
    std::fs::create_dir_all(&sub).unwrap();
    let file = sub.join("dcmdisc.toml");
    std::fs::write(&file, "[archive]\ndata_dir = \"data\"\n").unwrap();
    let c = Config::load(Some(&file)).unwrap();
    assert_eq!(
        c.archive.data_dir,
        std::path::absolute(sub.join("data")).unwrap()
    );
    assert!(c.archive.data_dir.is_absolute());
    assert_eq!(
        c.control_database_path(),
        std::path::absolute(sub.join("data").join("control.sqlite")).unwrap()
    );

    std::fs::write(&file, "[archive]\ndata_dir = \"../var/./data\"\n").unwrap();
    let c = Config::load(Some(&file)).unwrap();
    assert!(c.archive.data_dir.starts_with(&sub));
    assert!(c.archive.data_dir.ends_with("var/data"));

    let abs = tmp.path().join("elsewhere");
    std::fs::write(
        &file,
        format!("[archive]\ndata_dir = {:?}\n", abs.to_str().unwrap()),
    )
    .unwrap();
    assert_eq!(Config::load(Some(&file)).unwrap().archive.data_dir, abs);

    // Without a file: the default, relative to the current folder as before.
    assert_eq!(
        Config::load(None).unwrap().archive.data_dir,
        PathBuf::from("./dcmdisc-data")
    );
    let missing = Config::load(Some(&sub.join("nope.toml"))).unwrap_err();
    assert!(missing.to_string().contains("nope.toml"), "{missing}");
}

#[test]
fn errors_from_a_file_name_the_file() {
    let tmp = TempDir::new("config-file");
    let file = tmp.path().join("bad.toml");
    std::fs::write(&file, "[media]\nprofile = \"X\"\n").unwrap();
    let e = Config::load(Some(&file)).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("config file {}: [media] profile:", file.display())),
        "{e}"
    );
}

#[test]
fn burners_are_typed_and_checked() {
    let cfg = Config::parse(
        r#"
        [[burners]]
        name = "sim"
        kind = "simulator"
        discs = ["blank", "bad-verify"]
        speed_mb_s = 5
        "#,
    )
    .unwrap();
    cfg.validate().unwrap();
    assert_eq!(cfg.burners()[0].discs.len(), 2);
    // The default: one folder burner.
    let d = Config::default().burners();
    assert_eq!((d.len(), d[0].name.as_str()), (1, "folder"));
    assert!(err("[[burners]]\nname = \"a\"\nkind = \"robot\"\n").contains("[burners] kind"));
    assert!(
        err("[[burners]]\nname = \"a\"\nkind = \"simulator\"\ndiscs = [\"new\"]\n")
            .contains("[burners] discs")
    );
    let two = "[[burners]]\nname = \"a\"\nkind = \"folder\"\n[[burners]]\nname = \"a\"\nkind = \"folder\"\n";
    let e = Config::parse(two)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("[[burners]]") && e.contains("two burners"),
        "{e}"
    );
    let bad = "[[burners]]\nname = \"a/b\"\nkind = \"folder\"\n";
    let e = Config::parse(bad)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"a/b\""), "{e}");
    let e = Config::parse("[jobs]\npoll_interval_ms = 1\n")
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("[jobs] poll_interval_ms"), "{e}");
}

#[test]
fn the_test_stage_delay_is_off_by_default_and_bounded() {
    assert_eq!(Config::parse("").unwrap().jobs.test_stage_delay_ms, 0);
    let c = Config::parse("[jobs]\ntest_stage_delay_ms = 300\n").unwrap();
    c.validate().unwrap();
    assert_eq!(c.jobs.test_stage_delay_ms, 300);
    let e = Config::parse("[jobs]\ntest_stage_delay_ms = 10001\n")
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("[jobs] test_stage_delay_ms"), "{e}");
}

#[test]
fn retention_defaults_remove_nothing_and_bad_values_name_their_key() {
    let c = Config::parse("").unwrap();
    assert!(c.retention.keep_forever);
    assert_eq!(c.retention.high_water_percent, 90);
    let c = Config::parse("[retention]\nkeep_forever = false\nkeep_hours = 0\n").unwrap();
    c.validate().unwrap();
    assert_eq!(
        (c.retention.keep_forever, c.retention.keep_hours),
        (false, 0)
    );
    let e = err("[retention]\nhigh_water_percent = 0\n");
    assert!(e.contains("[retention] high_water_percent"), "{e}");
    let e = err("[retention]\nhigh_water_percent = 101\n");
    assert!(e.contains("[retention] high_water_percent"), "{e}");
    let e = err("[retention]\ninterval_secs = 0\n");
    assert!(e.contains("[retention] interval_secs"), "{e}");
    let e = err("[retention]\nkeep_hours = -1\n");
    assert!(e.contains("[retention] keep_hours"), "{e}");
    let e = err("[retention]\nkeep_days = 3\n");
    assert!(e.contains("[retention]") && e.contains("keep_days"), "{e}");
}

#[test]
fn volume_id_pattern_expands_date_job_or_time() {
    let p: VolumeIdPattern = "DCM{date}_{job}_{n}OF{m}".parse().unwrap();
    // 2026-12-01 23:15:07 UTC.
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_166_907);
    assert_eq!(p.expand(t, Some(12)).unwrap(), "DCM20261201_J12_{n}OF{m}");
    assert_eq!(p.expand(t, None).unwrap(), "DCM20261201_T2315_{n}OF{m}");
    let default = Config::default().media.volume_id;
    assert_eq!(default.expand(t, Some(12)).unwrap(), "261201J12_{n}OF{m}");
    assert_eq!(default.expand(t, None).unwrap(), "261201T2315_{n}OF{m}");
    assert_eq!(p.expand(t, Some(99_999_999_999)), None);
    // A fixed identifier is allowed; an unknown placeholder is not a d-character.
    assert!("ARCHIVE_DISC".parse::<VolumeIdPattern>().is_ok());
    assert!("DCM_{patient}".parse::<VolumeIdPattern>().is_err());
    assert!("".parse::<VolumeIdPattern>().is_err());
}

#[test]
fn rules_and_the_quiet_period_are_typed_and_checked() {
    let cfg = Config::parse(
        r#"
        [storage_provider]
        ae_titles = ["CDP_PRINTER", "CDP_AUTO"]
        [jobs]
        quiet_period_secs = 1
        [[burners]]
        name = "sim"
        kind = "simulator"
        [[rules]]
        called_ae = "CDP_AUTO"
        modality = "CT"
        copies = 2
        profile = "STD-GEN-DVD-JPEG"
        burner = "sim"
        priority = "high"
        start = "release"
        [[rules]]
        calling_ae = "US_1"
        "#,
    )
    .unwrap();
    cfg.validate().unwrap();
    assert_eq!(cfg.jobs.quiet_period_secs, 1);
    assert_eq!(Config::default().jobs.quiet_period_secs, 60);
    let (r0, r1) = (&cfg.rules[0], &cfg.rules[1]);
    assert_eq!(
        (r0.copies, r0.priority, r0.start),
        (2, crate::jobs::Priority::High, rules::StartMode::Release)
    );
    assert_eq!(
        (r1.copies, r1.start, r1.burner.as_deref()),
        (1, rules::StartMode::Quiet, None)
    );
    // First match wins; every key given must match; absent keys match anything.
    let m = |called, calling, modality| {
        rules::first_match(&cfg.rules, called, calling, modality).map(|(n, _)| n)
    };
    assert_eq!(m("CDP_AUTO", "CT_1", Some("CT")), Some(1));
    assert_eq!(m("CDP_AUTO", "US_1", Some("CT")), Some(1));
    assert_eq!(m("CDP_AUTO", "US_1", Some("US")), Some(2));
    assert_eq!(m("CDP_PRINTER", "CT_1", Some("CT")), None);
    assert_eq!(m("CDP_AUTO", "CT_1", None), None);
    // AE titles compare exactly (case matters, as at A-ASSOCIATE), padding aside.
    assert_eq!(m("cdp_auto", "CT_1", Some("CT")), None);
    assert_eq!(m("CDP_AUTO ", "CT_1", Some("CT ")), Some(1));

    for (toml, key) in [
        (
            "[jobs]\nquiet_period_secs = 0\n",
            "[jobs] quiet_period_secs",
        ),
        (
            "[jobs]\nquiet_period_secs = 86401\n",
            "[jobs] quiet_period_secs",
        ),
        ("[[rules]]\nmodality = \"ct\"\n", "[rules] modality"),
        ("[[rules]]\ncalling_ae = \"A\\\\B\"\n", "[rules] calling_ae"),
        ("[[rules]]\nstart = \"soon\"\n", "[rules] start"),
        ("[[rules]]\npriority = \"urgent\"\n", "[rules] priority"),
        (
            "[[rules]]\nprofile = \"STD-GEN-FLOPPY\"\n",
            "[rules] profile",
        ),
        ("[[rules]]\ncolour = \"red\"\n", "colour"),
        ("[[rules]]\ncopies = 0\n", "[[rules]] 1: copies"),
        ("[[rules]]\nburner = \"robot\"\n", "[[rules]] 1: burner"),
        (
            "[[rules]]\n[[rules]]\ncalled_ae = \"ELSEWHERE\"\n",
            "[[rules]] 2: called_ae",
        ),
    ] {
        let e = err(toml);
        assert!(e.contains(key), "{toml}: {e}");
    }
}

#[test]
fn the_web_section_is_typed_and_names_its_key() {
    let c = Config::parse("").unwrap();
    assert!(c.web.enabled);
    assert_eq!(c.web.bind_address, IpAddr::from([127, 0, 0, 1]));
    assert_eq!(c.web.port, web::DEFAULT_WEB_PORT);
    let c = Config::parse("[web]\nenabled = false\nbind_address = \"::1\"\nport = 0\n").unwrap();
    assert!(!c.web.enabled);
    assert_eq!(c.web.bind_address, "::1".parse::<IpAddr>().unwrap());
    assert_eq!(c.web.port, 0);
    let c = Config::parse(
        "[web]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nmetrics_token = \"0123456789abcdef\"\n",
    )
    .unwrap();
    assert_eq!(
        c.web.tls_cert.as_deref(),
        Some(std::path::Path::new("c.pem"))
    );
    assert_eq!(c.web.metrics_token.as_deref(), Some("0123456789abcdef"));
    for (toml, key) in [
        (
            "[web]\nbind_address = \"localhost\"\n",
            "[web] bind_address",
        ),
        ("[web]\nport = 70000\n", "[web] port"),
        ("[web]\nenabled = \"yes\"\n", "[web] enabled"),
        ("[web]\nlogin = true\n", "[web]"),
        (
            "[web]\ntls_cert = \"c.pem\"\n",
            "[web] tls_cert is set but tls_key",
        ),
        (
            "[web]\ntls_key = \"k.pem\"\n",
            "[web] tls_key is set but tls_cert",
        ),
        ("[web]\nmetrics_token = \"short\"\n", "[web] metrics_token"),
        (
            "[web]\nmetrics_token = \"has a space in it, long\"\n",
            "[web] metrics_token",
        ),
    ] {
        let e = err(toml);
        assert!(e.contains(key), "{toml}: {e}");
    }
}

#[test]
fn label_section_is_typed_and_checked() {
    let c = Config::parse(
        "[label]\nface = \"sleeve\"\nfields = [\"patient\", \"disc\"]\nfont_size_pt = 11\n",
    )
    .unwrap();
    c.validate().unwrap();
    assert_eq!(c.label.face, dcmdisc_label::Face::Sleeve);
    assert_eq!(
        c.label.fields,
        [dcmdisc_label::Field::Patient, dcmdisc_label::Field::Disc]
    );
    assert!(err("[label]\nface = \"square\"\n").contains("[label] face"));
    assert!(err("[label]\nfields = [\"weight\"]\n").contains("[label] fields"));
    assert!(err("[label]\nfont_size_pt = 2\n").contains("[label] font_size_pt"));
    assert!(err("[label]\nsystem_fonts = false\n").contains("[label] font_paths"));
    assert!(err("[label]\ncolour = 1\n").contains("[label]"));
    // Relative paths are the config file's.
    let tmp = TempDir::new("label-cfg");
    let file = tmp.join("dcmdisc.toml");
    std::fs::write(
        &file,
        "[label]\ntemplate = \"my.svg.j2\"\nfont_paths = [\"fonts\"]\n",
    )
    .unwrap();
    let c = Config::load(Some(&file)).unwrap();
    assert_eq!(
        c.label.template.as_deref(),
        Some(tmp.join("my.svg.j2").as_path())
    );
    assert_eq!(c.label.font_paths, [tmp.join("fonts")]);
    // A template file that is not there is named when the template is read.
    assert!(c
        .label
        .template()
        .unwrap_err()
        .to_string()
        .contains("my.svg.j2"));
}

#[test]
fn viewer_folder_is_read_at_load_and_refused_with_the_file_named() {
    let d = TempDir::new("viewer-config");
    let viewer = d.path().join("viewer");
    std::fs::create_dir_all(viewer.join("lib")).unwrap();
    std::fs::write(viewer.join("Viewer.exe"), b"MZ").unwrap();
    std::fs::write(viewer.join("lib/Qt5Core.dll"), b"MZ").unwrap();
    let file = d.path().join("dcmdisc.toml");
    std::fs::write(&file, "[media]\nviewer_folder = \"viewer\"\n").unwrap();
    let c = Config::load(Some(&file)).unwrap();
    assert_eq!(c.media.viewer_folder.as_deref(), Some(viewer.as_path()));
    c.validate().unwrap();
    let names: Vec<String> = c
        .viewers()
        .unwrap()
        .unwrap()
        .files
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["VIEWERS/LIB/QT5CORE.DLL", "VIEWERS/VIEWER.EXE"]);

    std::fs::write(viewer.join("lib/Qt5Widgets.dll"), b"MZ").unwrap();
    let e = Config::load(Some(&file))
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("[media] viewer_folder: "), "{e}");
    assert!(e.contains("Qt5Widgets.dll"), "{e}");

    let e = err("[media]\nviewer_folder = \"/nonexistent/dcmdisc-viewer\"");
    assert!(e.starts_with("[media] viewer_folder: "), "{e}");
    assert!(e.contains("/nonexistent/dcmdisc-viewer"), "{e}");
}

#[test]
fn commitment_retries_default_to_a_day_and_bad_values_name_their_key() {
    let c = Config::parse("").unwrap();
    assert_eq!(
        (
            c.commitment.retry_for_secs,
            c.commitment.retry_max_interval_secs
        ),
        (86_400, 60)
    );
    let c = Config::parse("[commitment]\nretry_for_secs = 0\n").unwrap();
    assert_eq!(c.commitment.retry_for_secs, 0);
    for bad in [
        "[commitment]\nretry_for_secs = 2592001\n",
        "[commitment]\nretry_for_secs = -1\n",
    ] {
        let e = err(bad);
        assert!(e.contains("[commitment] retry_for_secs"), "{e}");
    }
    let e = err("[commitment]\nretry_max_interval_secs = 0\n");
    assert!(e.contains("[commitment] retry_max_interval_secs"), "{e}");
    let e = err("[commitment]\nretry_for = 3\n");
    assert!(e.contains("[commitment]") && e.contains("retry_for"), "{e}");
}
