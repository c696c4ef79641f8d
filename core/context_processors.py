from django.conf import settings


def assay(request) -> dict:
    return {"llm_configured": bool(settings.LLM_BASE_URL), "llm_model": settings.LLM_MODEL}
