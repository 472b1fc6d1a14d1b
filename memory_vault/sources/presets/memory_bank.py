"""A project's memory bank (Cline, Roo Code, Kilo Code): Markdown files the agent rewrites."""

from memory_vault.sources.preset import Preset

PRESET = Preset(
    "memory-bank", "Cline / Roo Code / Kilo Code memory bank",
    folders=("",), project=True,
    files=("memory-bank/**/*.md", ".kilocode/rules/memory-bank/**/*.md",
           ".kilocode/memory-bank/**/*.md", ".kilo/rules/memory-bank/**/*.md"),
    formats=("text",),
    docs="https://docs.cline.bot/best-practices/memory-bank",
)
