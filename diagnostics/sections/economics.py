"""Section « Modèle économique »: the operations the user saved on « Montage d'opération ».

For each operation: the commune's data that enter the calculation, the owner's investment plan
and yearly account, the manager's yearly account (linked by the rent or redevance), the
households' aid (OpenFisca-France), the verdict of each account with its break-even values,
and every parameter used with its source or « hypothèse à confirmer ». The figures are
recomputed from the saved description with the current parameters file.
"""

from __future__ import annotations

import pandas as pd

from diagnostics.document import Bullets, Chart, Notice, Paragraph, Section, Subtitle, Table
from diagnostics.formatting import fr_number, fr_percent
from models import operation_economics as oe
from models.operation_context import LocalContext, market_for_inputs, market_text

PLAN_GROUPS = oe.PLAN_GROUPS
NBSP = "\u00a0"


def euros(value: float) -> str:
    return f"{fr_number(value, 0)}{NBSP}€"


def value_text(value: float, unit: str) -> str:
    if unit.startswith("part") or unit.startswith("taux"):
        return fr_percent(value, 1, scale=100)
    decimals = 0 if float(value).is_integer() or abs(value) >= 100 else 2
    return f"{fr_number(value, decimals)}{NBSP}{unit}" if unit else fr_number(value, decimals)


def context_lines(ctx: LocalContext) -> list[str]:
    lines = [f"Zone A/B/C : {ctx.zone_abc or 'non disponible'}"
             + (f" ({ctx.sources['zone_abc']})" if "zone_abc" in ctx.sources else "")
             + f" ; zone APL retenue : {ctx.zone_apl} ({ctx.zone_apl_note})."]
    if ctx.qpv_count is not None:
        qpv = (f"{fr_number(ctx.qpv_count)} quartier(s) prioritaire(s) : {ctx.qpv_names}"
               if ctx.qpv_count else "aucun quartier prioritaire")
        lines.append(f"{qpv} ({ctx.sources.get('qpv', '')}).")
    if ctx.acv is not None or ctx.pvd is not None:
        programmes = [name for name, flag in (("Action cœur de ville", ctx.acv),
                                              ("Petites villes de demain", ctx.pvd)) if flag]
        lines.append(("Programme(s) : " + ", ".join(programmes) if programmes else
                      "Ni Action cœur de ville ni Petites villes de demain")
                     + f" ({ctx.sources.get('programmes', '')}).")
    if ctx.vacant_long is not None:
        where = "dans la commune" if ctx.vacant_level == "commune" else "dans le département"
        rate = (f", {fr_percent(ctx.vacant_long_rate, 1)} du parc privé"
                if ctx.vacant_long_rate is not None else "")
        lines.append(f"Logements du parc privé vacants depuis deux ans ou plus {where} : "
                     f"{fr_number(ctx.vacant_long)}{rate} ({ctx.sources.get('lovac', 'LOVAC')}) — un stock "
                     "à mobiliser, par exemple en bail à réhabilitation.")
    if ctx.market_rent_m2 is not None:
        lines.append(f"Loyer de marché (Carte des loyers) : {fr_number(ctx.market_rent_m2, 2)}{NBSP}€/m² "
                     f"({ctx.sources.get('carte_loyers', '')}).")
    lines += [f"{text}." for text in ctx.missing.values()]
    return lines


def _lines_table(title: str, evaluation: oe.Evaluation, groups: tuple[str, ...], source: str) -> Table:
    homes = evaluation.inputs["logements"]
    rows = [[line.label, euros(evaluation.values[line.key]), euros(evaluation.values[line.key] / homes)]
            for line in evaluation.lines if line.group in groups and line.key != "resultat_par_logement"]
    return Table(title, ["Poste", "Montant", "Par logement"], rows, source=source,
                 numeric=[False, True, True], widths=[60, 20, 20])


def tornado_png(verdict: oe.Verdict, params: oe.Parameters, kind: str, top: int = 8) -> bytes:
    """The tornado chart (yearly result at −20 % and +20 % of each parameter) as a PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    swings = verdict.swings[:top][::-1]
    labels = [params.describe(s.key, kind).label[:55] for s in swings]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(swings) + 1.1), dpi=130)
    for i, s in enumerate(swings):
        low, high = min(s.result_low, s.result_high), max(s.result_low, s.result_high)
        ax.barh(i, high - low, left=low, color="#3b6ea5", height=0.6)
    ax.axvline(verdict.result, color="#c0392b", linewidth=1.5, label="résultat actuel")
    ax.axvline(0, color="#333333", linewidth=1, linestyle="--", label="équilibre")
    ax.set_yticks(range(len(swings)), labels, fontsize=7.5)
    ax.set_xlabel("Résultat annuel de l'opération (€)", fontsize=8)
    ax.tick_params(axis="x", labelsize=7.5)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda x, _: f"{x:,.0f}".replace(",", "\u202f").replace("-", "−")))
    ax.legend(fontsize=7, loc="lower right", frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def households_table(saved: dict, evaluation: oe.Evaluation, params: oe.Parameters) -> Table:
    """Aid and remaining charge of each household type the kind houses (OpenFisca-France)."""
    kind = params.kinds[saved["kind"]]
    day = evaluation.day
    rows = []
    for household in kind.households:
        aid = oe.reference_aid(saved["kind"], params, evaluation.inputs, day, household)
        income = aid.income
        effort = aid.effort_rate
        rows.append([aid.household.label, euros(aid.rent + aid.charges), euros(aid.ceiling), euros(aid.aid),
                     euros(aid.remaining), "oui" if aid.tres_social else "non",
                     "—" if income is None else f"{euros(income.net)} ({income.kind.upper()})",
                     fr_percent(effort, 1, scale=100.0)])
    family = "APL-foyer" if kind.apl_family == "foyer" else "APL/AL"
    return Table(
        f"Aide au logement ({family}) et reste à charge des ménages, au {day:%d/%m/%Y}, zone "
        f"{int(evaluation.inputs['zone_apl'])}",
        ["Ménage", "Redevance ou loyer + charges", "Plafond", "Aide", "Reste à charge", "Très social",
         "Revenu mensuel", "Part du revenu"],
        rows, source=f"Calcul : paramètres datés d'OpenFisca-France ({oe._rules_version()}), formule "
                     "simplifiée du projet. Revenu : AAH (personne seule en logement-foyer) ou RSA "
                     "diminué du forfait logement, montants en vigueur lus dans les mêmes paramètres ; "
                     "ni l'AAH ni le RSA ne comptent dans les ressources de l'aide. Autres revenus "
                     "imposables du ménage : "
                     "hypothèse à confirmer (0 par défaut)",
        numeric=[False, True, True, True, True, False, True, True], widths=[20, 14, 11, 11, 12, 9, 14, 9])


def operation_blocks(saved: dict, params: oe.Parameters) -> tuple[list, dict]:
    """The blocks of one operation and its summary row."""
    evaluation, verdict = oe.evaluate_saved(saved, params)
    kind = params.kinds[saved["kind"]]
    ctx = LocalContext.from_dict(saved.get("context") or {"code": saved["code"], "name": saved["name"]})
    ctx.zone_apl = int(saved.get("zone_apl", ctx.zone_apl))
    homes = evaluation.inputs["logements"]
    label = saved.get("label") or kind.label
    source = "Calcul : modèle économique du projet (models/operation_parameters.yaml)"
    blocks: list = [
        Subtitle(f"{label} — {saved['name']} ({saved['code']})"),
        Paragraph(f"{kind.label}, {fr_number(homes)} logement(s) ou place(s)."),
        Bullets(context_lines(ctx), title="Données locales prises en compte"),
        Paragraph(verdict.text),
    ]
    breaks = []
    for account, key, current, value in verdict.break_evens:
        described = params.describe(key, saved["kind"])
        who = f"compte du {oe.ACCOUNT_LABELS[account]}"
        if value is None:
            breaks.append(f"{described.label} ({who}) : aucune valeur positive ne l'équilibre "
                          f"(valeur actuelle {value_text(current, described.unit)}).")
        else:
            breaks.append(f"{described.label} ({who}) : équilibre à {value_text(value, described.unit)} "
                          f"(valeur actuelle {value_text(current, described.unit)}).")
    if breaks:
        blocks.append(Bullets(breaks, title="Point d'équilibre de chaque compte"))
    if verdict.swings:
        blocks.append(Chart(
            f"tornade_{saved['kind']}_{saved['code']}",
            "Sensibilité du résultat annuel : chaque paramètre à −20 % puis +20 %",
            tornado_png(verdict, params, saved["kind"]), source=source,
            note="Trait rouge : résultat actuel ; pointillé : équilibre."))
        top = verdict.swings[:5]
        blocks.append(Table(
            "Sensibilité du résultat annuel (chaque paramètre à −20 % puis +20 %)",
            ["Paramètre", "Résultat à −20 %", "Résultat à +20 %", "Amplitude"],
            [[params.describe(s.key, saved["kind"]).label, euros(s.result_low), euros(s.result_high),
              euros(s.width)] for s in top],
            source=source, numeric=[False, True, True, True], widths=[46, 18, 18, 18]))
    blocks.append(_lines_table("Plan de financement de l'investissement", evaluation, PLAN_GROUPS, source))
    blocks.append(_lines_table("Compte annuel du propriétaire", evaluation, oe.OWNER_GROUPS, source))
    blocks.append(_lines_table("Compte annuel du gestionnaire", evaluation, oe.MANAGER_GROUPS, source))
    blocks.append(households_table(saved, evaluation, params))
    if saved["kind"].startswith("iml"):
        blocks.append(Paragraph(market_text(market_for_inputs(ctx, evaluation.inputs))))
    for note in evaluation.checks:
        blocks.append(Notice(note))
    used = oe.used_parameters(saved["kind"], evaluation.inputs, params, saved.get("overrides"),
                              evaluation.day)
    assumptions = sum(1 for p, changed in used if p.assumption and not changed)
    blocks.append(Notice(f"{assumptions} paramètre(s) sur {len(used)} sont des hypothèses à confirmer : "
                         "le verdict dépend de ces valeurs ; remplacez-les par celles du projet."))
    blocks.append(Table(
        "Paramètres utilisés", ["Paramètre", "Valeur", "Statut", "Source"],
        [[p.label, value_text(p.value, p.unit),
          "saisi par l'utilisateur" if changed else p.status,
          p.source + (f" (depuis le {p.valid})" if p.valid else "")] for p, changed in used],
        numeric=[False, True, False, False], widths=[32, 18, 14, 36]))
    summary = {
        "Opération": label, "Type": kind.label, "Code commune": saved["code"], "Commune": saved["name"],
        "Logements": homes, "Coût total (€)": round(evaluation.values["cout_total"]),
        "Reste à financer (€)": round(evaluation.values["ecart_financement"]),
        "Résultat annuel (€)": round(evaluation.values["resultat"]),
        "Résultat par logement (€)": round(evaluation.values["resultat"] / homes),
        "Résultat du propriétaire (€)": round(evaluation.values["resultat_proprietaire"]),
        "Résultat du gestionnaire (€)": round(evaluation.values["resultat_gestionnaire"]),
        "Résultat du gestionnaire par place (€)": round(verdict.manager_result_per_place),
        "Équilibrée": "oui" if verdict.balanced else "non",
        "Hypothèses à confirmer": assumptions,
    }
    return blocks, summary


def economics_section(operations: list[dict], params: oe.Parameters | None = None) -> Section | None:
    """None when no operation was saved (the report then has no such section)."""
    if not operations:
        return None
    params = params or oe.load_parameters()
    section = Section("modele_economique", "Modèle économique")
    section.add(Paragraph(
        "Opérations étudiées avec « Montage d'opération » : plan de financement et compte annuel du "
        "propriétaire, compte annuel du gestionnaire (reliés par le loyer ou la redevance), aide au "
        "logement des ménages et verdict de chaque compte : l'opération n'est équilibrée que si les "
        "deux le sont. Chaque montant, taux ou plafond cite la source "
        "lue ; une valeur non vérifiée est marquée « hypothèse à confirmer »."))
    summaries, details = [], []
    for saved in operations:
        try:
            blocks, summary = operation_blocks(saved, params)
        except (oe.OperationError, KeyError) as exc:
            details.append(Notice(f"Opération « {saved.get('label') or saved.get('kind')} » à "
                                  f"{saved.get('name', '?')} non calculée : {exc}"))
            continue
        summaries.append(summary)
        details.extend(blocks)
    if summaries:
        frame = pd.DataFrame(summaries)
        section.add(Table(
            "Synthèse des opérations", ["Opération", "Commune", "Logements", "Reste à financer",
                                        "Propriétaire (an)", "Gestionnaire (an)", "Équilibrée"],
            [[r["Opération"], f"{r['Commune']} ({r['Code commune']})", fr_number(r["Logements"]),
              euros(r["Reste à financer (€)"]), euros(r["Résultat du propriétaire (€)"]),
              euros(r["Résultat du gestionnaire (€)"]), r["Équilibrée"]]
             for r in summaries],
            numeric=[False, False, True, True, True, True, False], key="modele_economique", data=frame))
    section.add(*details)
    return section
