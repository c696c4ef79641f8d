"""Creating sessions: from questions, from ready answers (judge-only), and re-judges."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from core.errors import Conflict, InvalidInput
from core.file_guards import strip_nul
from corpora.models import Corpus
from judging.models import Rubric
from judging.selectors import rubrics_for_team
from judging.services import rubric_default_ensure
from llm.config import default_provider
from llm.types import Passage, Provider
from sessions.models import Answer, Conversation, EvaluationSession, Question, RetrievedPassage
from sessions.question_files import ConversationInput, QuestionInput
from sessions.services.estimate import session_estimate
from sessions.services.judgments import answer_passages
from sessions.services.lifecycle import session_start
from sessions.session_settings import SessionSettings

# Model names recorded for the offline provider's generator and judge.
OFFLINE_GENERATOR_MODEL = "extractive-minilm"
OFFLINE_JUDGE_MODEL = "heuristic-minilm"


@transaction.atomic
def session_create(
    *,
    team: Team,
    user: AbstractBaseUser | None = None,
    corpus: Corpus,
    name: str,
    conversations: list[ConversationInput],
    settings: SessionSettings,
) -> EvaluationSession:
    """A draft session of the conversations' questions, with its cost estimate."""
    if corpus.team_id != team.pk:
        raise InvalidInput("The corpus belongs to another team.")
    # PostgreSQL refuses NUL characters in text: strip them from everything stored.
    name, conversations = strip_nul(name), [_conversation_without_nul(c) for c in conversations]
    if not conversations or not any(c.questions for c in conversations):
        raise InvalidInput("A session needs at least one question.")
    generator_provider = settings.generator_provider or default_provider()
    session = EvaluationSession.objects.create(
        team=team,
        created_by=user,
        corpus=corpus,
        name=name.strip() or "Untitled session",
        retrieval_mode=settings.retrieval_mode,
        retrieval_k=settings.retrieval_k,
        web_search=settings.web_search,
        generator_provider=generator_provider,
        generator_model=settings.generator_model
        or (django_settings.LLM_MODEL if generator_provider == Provider.OPENAI else OFFLINE_GENERATOR_MODEL),
        llm_base_url=settings.llm_base_url,
        temperature=settings.temperature,
        prompt_template=settings.prompt_template,
        budget_usd=settings.budget_usd,
        **_judge_fields(team=team, settings=settings),
    )
    for c_pos, conv in enumerate(c for c in conversations if c.questions):
        conversation = Conversation.objects.create(session=session, position=c_pos, label=conv.label[:200])
        Question.objects.bulk_create(
            Question(
                session=session,
                conversation=conversation,
                position=q_pos,
                text=q.text,
                reference_answer=q.reference_answer,
            )
            for q_pos, q in enumerate(conv.questions)
        )
    session.estimate = session_estimate(session=session)
    session.save(update_fields=["estimate"])
    return session


@transaction.atomic
def _conversation_without_nul(conversation: ConversationInput) -> ConversationInput:
    return ConversationInput(
        label=strip_nul(conversation.label),
        questions=[
            QuestionInput(text=strip_nul(q.text), reference_answer=strip_nul(q.reference_answer))
            for q in conversation.questions
        ],
    )


def session_create_judge_only(
    *, team: Team, user: AbstractBaseUser | None = None, name: str, items: list[dict], settings: SessionSettings
) -> EvaluationSession:
    """A session of ready answers to judge: items of question, answer, context, history.

    Items sharing a `conversation` label form one conversation, in order. An answer's
    history is the item's own `history` (list of {question, answer}) when given, else the
    earlier items of its conversation. Of the settings, only the judge's apply.
    """
    if not items:
        raise InvalidInput("Submit at least one item.")
    name, items = strip_nul(name), strip_nul(items)  # PostgreSQL refuses NUL characters in text
    parsed: dict[str, list[dict]] = {}
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not str(item.get("question") or "").strip():
            raise InvalidInput(f"Item {index} needs a question.")
        if not str(item.get("answer") or "").strip():
            raise InvalidInput(f"Item {index} needs an answer.")
        label = str(item.get("conversation") or f"Item {index}")
        parsed.setdefault(label, []).append(item)
    session = EvaluationSession.objects.create(
        team=team,
        created_by=user,
        corpus=None,
        name=name.strip() or "Judge-only batch",
        generator_provider=EvaluationSession.Provider.PROVIDED,
        generator_model="provided",
        llm_base_url=settings.llm_base_url,
        **_judge_fields(team=team, settings=settings),
    )
    # Four inserts whatever the number of items (rows, then their children, in bulk).
    now = timezone.now()
    conversations = Conversation.objects.bulk_create(
        Conversation(session=session, position=c_pos, label=label[:200]) for c_pos, label in enumerate(parsed)
    )
    questions: list[Question] = []
    answers: list[tuple[Answer, list[Passage]]] = []
    for conversation, turns in zip(conversations, parsed.values(), strict=True):
        earlier: list[list[str]] = []
        for q_pos, item in enumerate(turns):
            question = Question(
                session=session,
                conversation=conversation,
                position=q_pos,
                text=str(item["question"]).strip(),
                reference_answer=str(item.get("reference_answer") or ""),
            )
            given = item.get("history")
            answer = Answer(
                question=question,
                attempt=1,
                status=Answer.Status.OK,
                text=str(item["answer"]),
                history=[_history_turn(t) for t in given] if isinstance(given, list) else list(earlier),
                provider=EvaluationSession.Provider.PROVIDED,
                model=str(item.get("model") or "provided"),
                response_latency_ms=item.get("latency_ms") if isinstance(item.get("latency_ms"), int) else None,
                started_at=now,
                finished_at=now,
            )
            earlier.append([question.text, answer.text])
            questions.append(question)
            answers.append((answer, _item_passages(item)))
    Question.objects.bulk_create(questions)
    Answer.objects.bulk_create(answer for answer, _ in answers)  # question ids: set by the insert above
    RetrievedPassage.objects.bulk_create(
        RetrievedPassage(answer=answer, rank=rank, score=0.0, source_tag=p.tag, text=p.text)
        for answer, passages in answers
        for rank, p in enumerate(passages, start=1)
    )
    session.estimate = session_estimate(session=session)
    session.save(update_fields=["estimate"])
    return session


def session_rejudge(
    *,
    session: EvaluationSession,
    user: AbstractBaseUser | None = None,
    judge_provider: str | None = None,
    judge_model: str = "",
    rubric: Rubric | None = None,
    judge_repeats: int | None = None,
) -> EvaluationSession:
    """Judge a finished session's answers again, as a new judge-only session linked to it.

    The answers, their passages and their history are copied as they were; what changes is
    the judge (provider, model, temperature of the settings) or the rubric version. The
    comparison (sessions.selectors.session_comparison) shows what moved.
    """
    if session.status not in (EvaluationSession.Status.COMPLETED, EvaluationSession.Status.COMPLETED_WITH_ERRORS):
        raise Conflict("Only a finished session can be re-judged.")
    items = []
    questions = (
        Question.objects.filter(session=session)
        .select_related("conversation")
        .prefetch_related("answers__passages")
        .order_by("conversation__position", "position")
    )
    for question in questions:
        answered = [a for a in question.answers.all() if a.status == Answer.Status.OK]
        if not answered:
            continue
        answer = max(answered, key=lambda a: a.attempt)
        items.append(
            {
                "conversation": question.conversation.label or f"Conversation {question.conversation.position + 1}",
                "question": question.text,
                "reference_answer": question.reference_answer,
                "answer": answer.text,
                "model": answer.model,
                "context": answer_passages(answer=answer),
                "history": answer.history,
            }
        )
    if not items:
        raise InvalidInput("The session has no answers to judge again.")
    same_provider = judge_provider in (None, session.judge_provider)
    settings = SessionSettings(
        rubric_id=(rubric or session.rubric).pk,
        judge_provider=judge_provider or session.judge_provider,
        judge_model=judge_model or (session.judge_model if same_provider else ""),
        judge_repeats=judge_repeats or session.judge_repeats,
        llm_base_url=session.llm_base_url,
    )
    with transaction.atomic():
        rejudge = session_create_judge_only(
            team=session.team, user=user, name=f"Re-judge of {session.name}", items=items, settings=settings
        )
        rejudge.rejudge_of = session
        rejudge.corpus = session.corpus
        rejudge.retrieval_mode, rejudge.retrieval_k = session.retrieval_mode, session.retrieval_k
        rejudge.save(update_fields=["rejudge_of", "corpus", "retrieval_mode", "retrieval_k"])
        session_start(session=rejudge)
    return rejudge


def _judge_fields(*, team: Team, settings: SessionSettings) -> dict:
    """The session's judge: provider and model (defaults resolved), repeats, rubric, probes."""
    judge_provider = settings.judge_provider or default_provider()
    return {
        "judge_provider": judge_provider,
        "judge_model": settings.judge_model
        or (django_settings.JUDGE_MODEL if judge_provider == Provider.OPENAI else OFFLINE_JUDGE_MODEL),
        "judge_repeats": settings.judge_repeats,
        "rubric": _team_rubric(team=team, rubric_id=settings.rubric_id),
        "robustness": settings.robustness,
    }


def _team_rubric(*, team: Team, rubric_id: int | None) -> Rubric:
    """The chosen rubric if the team may use it (its own or a shared one), else the default."""
    if rubric_id is None:
        return rubric_default_ensure()
    rubric = rubrics_for_team(team=team).filter(pk=rubric_id).first()
    if rubric is None:
        raise InvalidInput(f"No rubric {rubric_id} is available to this team.")
    return rubric


def _history_turn(turn) -> list[str]:
    if isinstance(turn, dict):
        return [str(turn.get("question") or turn.get("q") or ""), str(turn.get("answer") or turn.get("a") or "")]
    if isinstance(turn, list | tuple) and len(turn) == 2:
        return [str(turn[0]), str(turn[1])]
    raise InvalidInput("History turns must be {question, answer} objects.")


def _item_passages(item: dict) -> list[Passage]:
    """An item's context: passages, or texts whose leading "[tag]" (if any) is the source tag."""
    context = item.get("context") or []
    if isinstance(context, str | Passage):
        context = [context]
    return [c if isinstance(c, Passage) else _passage_of(str(c), rank) for rank, c in enumerate(context, start=1)]


def _passage_of(text: str, rank: int) -> Passage:
    stripped = text.lstrip()
    if stripped.startswith("[") and "]" in stripped[:200]:
        end = stripped.index("]") + 1
        return Passage(tag=stripped[:end], text=stripped[end:].strip())
    return Passage(tag=f"[Context {rank}]", text=text)
